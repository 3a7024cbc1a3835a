"""Browser tests: Debian's chromium driven by Playwright against a live server on the
demo school. No browser is downloaded; without chromium they are skipped (never in CI)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from komawari.db.engine import session_scope
from komawari.ops import demo
from komawari.web.cli import demo_sign_in

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
VENDOR = Path(__file__).parent / "vendor"
AXE = VENDOR / "axe-core-4.10.3.min.js"

pytestmark = pytest.mark.browser


def _chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(
                "CI needs Debian's chromium for the browser tests (apt-get install chromium)"
            )
        pytest.skip("Debian's chromium is not installed (python3 dev.py test installs it as root)")
    return found


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def demo_school(committed_engine: Engine) -> Engine:
    """The demo school and its demo sign-in, as `serve --demo` makes them."""
    with session_scope(committed_engine) as s:
        demo.create(s)
    demo_sign_in(committed_engine)
    return committed_engine


@pytest.fixture
def site(demo_school: Engine, app: FastAPI, live_server: str) -> str:
    return live_server


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    opened = context.new_page()
    yield opened
    context.close()


def shot(page: Any, name: str) -> None:
    """Save a screenshot under artifacts/screenshots (git-ignored)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core in the page; return its serious and critical violations."""
    recorded = (VENDOR / "SHA256SUMS").read_text().split()[0]
    assert hashlib.sha256(AXE.read_bytes()).hexdigest() == recorded
    # Evaluated through the browser's debugging protocol: the pages' Content-Security-Policy
    # allows no inline script, so a <script> tag with axe in it would be refused.
    page.evaluate("() => {" + AXE.read_text(encoding="utf-8") + "\n}")
    result = page.evaluate("async () => JSON.stringify(await axe.run(document))")
    found = json.loads(result)["violations"]
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"][:3]]}
        for v in found
        if v["impact"] in ("serious", "critical")
    ]
