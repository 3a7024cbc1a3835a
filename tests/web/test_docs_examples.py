"""Every curl example of docs/api.md runs, in order, on the demo school that `komawari serve
--demo` makes (the same `ops/demo.py` code), and answers the status it shows."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from komawari.audit.service import Actor
from komawari.auth import service as auth
from komawari.auth.enums import Role
from komawari.db.engine import session_scope
from komawari.ops import demo
from komawari.web.cli import demo_admin_token
from tests.factories.world import bearer

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
BLOCK = re.compile(r"```sh\n(.*?)```", re.S)
EXAMPLE = re.compile(r"(curl\b.*?)\n# -> (\d{3})(?:, sets (\w+) from \.(\w+))?\n", re.S)

# What the doc says of the demo school, and where the API shows it.
FACTS = {
    "1 Shibuya, 2 Yokohama": ("/api/branches", {1: "Shibuya", 2: "Yokohama"}),
    "1 Sato Sensei, 2 Suzuki Sensei": ("/api/teachers", {1: "Sato Sensei", 2: "Suzuki Sensei"}),
    "1 Aoi, 2 Haruto, 3 Himari": ("/api/students", {1: "Aoi", 2: "Haruto", 3: "Himari"}),
}


def examples() -> list[tuple[str, int, str | None, str | None]]:
    """Return (command, status, variable, field) for each curl example, in order."""
    found = []
    for block in BLOCK.findall(DOC.read_text()):
        for m in EXAMPLE.finditer(block):
            found.append((m[1], int(m[2]), m[3], m[4]))
    return found


def _request(command: str, variables: dict[str, str]) -> dict[str, Any]:
    words = shlex.split(command.replace("\\\n", " "))
    assert words[0] == "curl"
    request: dict[str, Any] = {"method": "GET", "headers": {}, "content": None, "url": None}
    args = iter(words[1:])
    for word in args:
        if word == "-s":
            continue
        if word == "-X":
            request["method"] = next(args)
        elif word == "-H":
            name, _, value = next(args).partition(":")
            request["headers"][name.strip()] = value.strip()
        elif word == "-d":
            request["content"] = next(args)
            request["method"] = "POST" if request["method"] == "GET" else request["method"]
        else:
            assert request["url"] is None, f"unexpected argument {word!r}"
            request["url"] = word
    for name, value in variables.items():
        request["url"] = request["url"].replace(f"${name}", value)
        request["headers"] = {
            k: v.replace(f"${name}", value) for k, v in request["headers"].items()
        }
    assert "$" not in request["url"] + "".join(request["headers"].values()), request
    return request


@pytest.fixture
def demo_tokens(committed_engine: Engine) -> dict[str, str]:
    """The demo school as `serve --demo` makes it, its admin token, and hana's staff token
    of Shibuya as the doc's `token create --user hana --role staff --branch 1` makes it."""
    with session_scope(committed_engine) as s:
        demo.create(s)
    admin = demo_admin_token(committed_engine)
    actor = Actor.cli()
    with session_scope(committed_engine) as s:
        hana, _ = auth.ensure_user(s, username="hana", role=Role.STAFF, branch_ids=[1], actor=actor)
        staff = auth.create_token(s, user=hana, name="cli", actor=actor)[1]
    return {"KOMAWARI": "", "TOKEN": admin, "STAFF_TOKEN": staff}


def test_the_docs_have_examples_for_every_part() -> None:
    text = DOC.read_text()
    commands = [e[0] for e in examples()]
    assert len(commands) == text.count("curl -s"), "each curl example needs '# -> <status>'"
    for part in ("/api/class-series", "/api/class-sessions", "/schedule", "/calendar/",
                 "Idempotency-Key", "/api/audit/skipped", "/api/generation-runs"):  # fmt: skip
        assert any(part in c for c in commands), part


def test_the_docs_name_the_demo_school(client: TestClient, demo_tokens: dict[str, str]) -> None:
    text = DOC.read_text()
    assert not re.search(r"\b(Osaka|Riku|Mei)\b", text), "the doc's school is the demo school"
    for phrase, (path, names) in FACTS.items():
        assert phrase in text, phrase
        items = client.get(path, headers=bearer(demo_tokens["TOKEN"])).json()["items"]
        assert {i["id"]: i["name"] for i in items if i["id"] in names} == names, path


def test_every_curl_example_answers_its_status_on_the_demo_school(
    client: TestClient, demo_tokens: dict[str, str]
) -> None:
    variables = dict(demo_tokens)
    existing = re.search(r'"existing_series_id": (\d+)', DOC.read_text())
    assert existing is not None
    for command, status, variable, field in examples():
        req = _request(command, variables)
        response = client.request(
            req["method"], req["url"], headers=req["headers"], content=req["content"]
        )
        assert response.status_code == status, f"{command}\n-> {response.text[:500]}"
        assert "Traceback" not in response.text
        if response.headers.get("content-type", "").endswith("json") and response.content:
            body = response.json()
            if body.get("type") == "/problems/duplicate-series":  # the id the doc names
                assert body["existing_series_id"] == int(existing[1]), body
            for clash in body.get("conflicts_with", []) if isinstance(body, dict) else []:
                assert set(clash) >= {"session_id", "shared", "hidden", "teacher_name"}, clash
        if variable and field:
            variables[variable] = str(response.json()[field])
