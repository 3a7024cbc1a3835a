#!/usr/bin/env python3
"""One entry point for the dev tasks; needs only Python 3.11+ (it makes .venv itself).

python3 dev.py help
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".komawari-installed"

TASKS = {
    "run": "set up, then run the server with a demo school on the embedded database",
    "demo": "set up, then create the demo school and print the coming week",
    "test": "set up, then run the whole test suite (embedded database unless "
    "KOMAWARI_TEST_DATABASE_URL is set); extra arguments go to pytest",
    "lint": "ruff (lint and format check) and mypy --strict",
    "format": "ruff format and ruff check --fix",
    "migrations": "alembic upgrade head and alembic check on DATABASE_URL",
    "screenshots": "run the browser tests and copy their screenshots into docs/screenshots",
    "i18n": "extract the pages' messages, update the catalogs, compile them (web/locales)",
    "bench": "run a benchmark: bench generation|api_schedule [its options] (docs/benchmarks.md)",
    "mutants": "mutation testing: the SQL mutant table and mutmut over the rules and decisions; "
    "mutants [--sql|--python] [--module PATH|--ci] [--json] [--keep DIR] (docs/testing.md)",
    "walkthrough": "a newcomer's walk-through: every command of docs/api.md and "
    "docs/operations.md as written, on a served demo school; walkthrough [--fresh] "
    "(clone HEAD and set it up first) [--database-url URL] (else embedded)",
    "setup": "create .venv and install Komawari with its dev tools",
    "help": "this list",
}


def setup() -> None:
    """Create .venv and install the package in editable mode with its dev extras."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs before any check
        sys.exit("Komawari needs Python 3.11 or newer")
    if not PY.exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    print("installing Komawari and its dependencies into .venv ...", flush=True)
    pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(digest)


def ensure_browser() -> None:
    """Install Debian's chromium and a Japanese font for the browser tests, when missing."""
    if shutil.which("chromium"):
        return
    if not shutil.which("apt-get") or os.geteuid() != 0:
        print(
            "Debian's chromium is not installed; the browser tests will be skipped "
            "(as root: apt-get install chromium fonts-ipafont-gothic)",
            file=sys.stderr,
        )
        return
    print("installing Debian's chromium for the browser tests ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
    apt = ["apt-get", "install", "-y", "-qq", "--no-install-recommends"]
    subprocess.run([*apt, "chromium", "fonts-ipafont-gothic"], check=False, env=env)


def run(*args: str) -> int:
    """Run a command from .venv/bin in the repository root; return its exit code."""
    exe = BIN / args[0]
    return subprocess.run([str(exe), *args[1:]], cwd=ROOT, check=False).returncode


def serve(*args: str) -> int:
    """Run a long-lived command, handing Ctrl-C and SIGTERM to it and waiting for its stop.

    Ctrl-C reaches the whole foreground process group, the child included, so this process
    only waits; a SIGTERM sent to this process alone is passed on. Either way the child
    stops the server and its database cleanly, and no traceback is printed here.
    """
    child = subprocess.Popen([str(BIN / args[0]), *args[1:]], cwd=ROOT)

    def forward(signum: int, frame: object) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, lambda signum, frame: None)
    code = child.wait()
    return 0 if code in (0, -signal.SIGINT, -signal.SIGTERM, 130) else code


def main(argv: list[str]) -> int:
    task, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if task not in TASKS:
        print(f"unknown task {task!r}; try: python3 dev.py help", file=sys.stderr)
        return 2
    if task == "help":
        width = max(map(len, TASKS))
        for name, text in TASKS.items():
            print(f"  {name.ljust(width)}  {text}")
        return 0
    setup()
    if task == "setup":
        return 0
    if task == "run":
        return serve("komawari", "serve", "--demo", *rest)
    if task == "demo":
        return run("komawari", "demo", *rest)
    if task == "test":
        ensure_browser()
        return run("pytest", *rest)
    if task == "lint":
        return run("ruff", "check", ".") or run("ruff", "format", "--check", ".") or run("mypy")
    if task == "format":
        return run("ruff", "format", ".") or run("ruff", "check", "--fix", ".")
    if task == "migrations":
        return run("alembic", "upgrade", "head") or run("alembic", "check")
    if task == "screenshots":
        ensure_browser()
        code = run("pytest", "-q", "tests/browser", *rest)
        shots, docs = ROOT / "artifacts" / "screenshots", ROOT / "docs" / "screenshots"
        docs.mkdir(exist_ok=True)
        for png in sorted(shots.glob("*.png")):
            shutil.copyfile(png, docs / png.name)
            print(f"docs/screenshots/{png.name}")
        return code
    if task == "i18n":
        locales, pot = "src/komawari/web/locales", "src/komawari/web/locales/messages.pot"
        return (
            run("pybabel", "extract", "-F", "babel.cfg", "-k", "_", "--no-location",
                "--sort-output", "--project=komawari", "-o", pot, ".")
            or run("pybabel", "update", "-i", pot, "-d", locales, "--ignore-obsolete")
            or run("pybabel", "compile", "-d", locales, "--statistics")
        )  # fmt: skip
    if task == "walkthrough":
        return run("python", "-m", "tests.walkthrough", *rest)
    if task == "mutants":
        return run("python", "-m", "tests.mutation.report", *rest)
    if task == "bench":
        if not rest:
            print("which one? python3 dev.py bench generation|api_schedule", file=sys.stderr)
            return 2
        return run("python", "-m", f"benchmarks.{rest[0]}", *rest[1:])
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
