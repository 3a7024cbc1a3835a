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
# The lock: every package of Komawari, its dev tools and the soak, pinned with its hashes
# (pip-compile --generate-hashes from requirements/dev.in; `python3 dev.py lock` refreshes
# it). The two local packages are installed from the checkout beside it, editable.
LOCK = ROOT / "requirements" / "dev.txt"
LOCK_INPUT = ROOT / "requirements" / "dev.in"
LOCAL = [ROOT, ROOT / "tools" / "soak"]
INSTALLED_FROM = [ROOT / "pyproject.toml", ROOT / "tools" / "soak" / "pyproject.toml", LOCK]
PIP_COMPILE = [
    "--generate-hashes",
    "--strip-extras",  # psycopg[binary] pinned as psycopg and psycopg-binary
    "--no-emit-index-url",  # this machine's package indexes stay out of the file
    "--no-emit-find-links",
    # The local packages are not on an index: left out of the lock (setup installs them
    # from the checkout). Naming them replaces pip-tools' default unsafe list, so pip and
    # setuptools are pinned with their hashes like the rest.
    "--unsafe-package",
    "komawari",
    "--unsafe-package",
    "komawari-soak",
]
# `lock --quick`: the tests that run in a few minutes instead of the whole suite (the
# browser tests by their folder: a conftest's pytestmark does not mark them).
QUICK = ["-q", "-x", "-m", "not slow and not concurrency", "--ignore=tests/browser"]
# Every requirement of the local packages (the dev extra too) against what is installed:
# a requirement the lock does not satisfy means pyproject.toml changed and the lock did not.
CHECK_LOCK = r"""
import sys
from importlib.metadata import PackageNotFoundError, requires, version
from packaging.requirements import Requirement

unmet = []
for dist in sys.argv[1:]:
    for line in requires(dist) or []:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate({"extra": "dev"}):
            continue
        try:
            have = version(req.name)
        except PackageNotFoundError:
            unmet.append(f"{dist} needs {req}: not in the lock")
            continue
        if not req.specifier.contains(have, prereleases=True):
            unmet.append(f"{dist} needs {req}: the lock has {have}")
if unmet:
    sys.exit("\n".join(unmet))
"""

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
    "bench": "run a benchmark: bench generation|api_schedule|booking_latency|pages|attack|notices|"
    "furikae [its options] (docs/benchmarks.md)",
    "mutants": "mutation testing: the SQL mutant table and mutmut over the rules and decisions; "
    "mutants [--sql|--python] [--module PATH|--ci] [--json] [--keep DIR] (docs/testing.md)",
    "walkthrough": "a newcomer's walk-through: every command of docs/api.md and "
    "docs/operations.md as written, on a served demo school; walkthrough [--fresh] "
    "(clone HEAD and set it up first) [--database-url URL] (else embedded)",
    "setup": "create .venv and install Komawari, its dev tools and the soak (tools/soak) "
    "from the lock, requirements/dev.txt (hashes required)",
    "lock": "re-resolve requirements/dev.txt to the newest allowed versions (pip-compile "
    "--generate-hashes), install it, run the test suite; lock [--keep] (change only what "
    "pyproject.toml asks) [--quick] (a quick subset of the tests)",
    "help": "this list",
}


def setup(*, strict: bool = True) -> None:
    """Create .venv; install the lock (hashes required), then the local packages, editable.

    It installs again when pyproject.toml, tools/soak/pyproject.toml or the lock changed.
    A lock that no longer satisfies pyproject.toml stops it, unless not `strict` (`lock`,
    which is about to make a new one).
    """
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs before any check
        sys.exit("Komawari needs Python 3.11 or newer")
    if not PY.exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256()
    for path in INSTALLED_FROM:
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    if STAMP.exists() and STAMP.read_text() == digest.hexdigest():
        return
    print(f"installing {LOCK.relative_to(ROOT)}, Komawari and the soak into .venv ...", flush=True)
    pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    # The lock pins pip and setuptools too: the local packages build with those.
    subprocess.run([*pip, "--require-hashes", "-r", str(LOCK)], check=True)
    editable = [arg for path in LOCAL for arg in ("-e", str(path))]
    subprocess.run([*pip, "--no-deps", "--no-build-isolation", *editable], check=True)
    names = ["komawari", "komawari-soak"]
    if subprocess.run([str(PY), "-c", CHECK_LOCK, *names], check=False).returncode:
        stale = f"{LOCK.relative_to(ROOT)} is out of date: run python3 dev.py lock --keep"
        if strict:
            sys.exit(stale)
        print(stale, file=sys.stderr)
        return
    STAMP.write_text(digest.hexdigest())


def lock(*args: str) -> int:
    """Re-resolve the lock (pip-compile), install it, then run the test suite."""
    unknown = [a for a in args if a not in ("--keep", "--quick")]
    if unknown:
        print(f"lock takes --keep and --quick, not {' '.join(unknown)}", file=sys.stderr)
        return 2
    upgrade = [] if "--keep" in args else ["--upgrade"]
    inputs = [str(LOCK_INPUT.relative_to(ROOT)), "-o", str(LOCK.relative_to(ROOT))]
    env = {**os.environ, "CUSTOM_COMPILE_COMMAND": "python3 dev.py lock"}
    compiled = subprocess.run(
        [str(BIN / "pip-compile"), "-q", *PIP_COMPILE, *upgrade, *inputs],
        cwd=ROOT,
        env=env,
        check=False,
    )
    if compiled.returncode:
        return compiled.returncode
    setup()  # the lock changed: install it
    ensure_browser()
    return run("pytest", *(QUICK if "--quick" in args else []))


def ensure_browser() -> None:
    """Install Debian's chromium and a Japanese font for the browser tests, when missing
    (without the font, Japanese pages render as empty boxes in the screenshots)."""
    font = Path("/usr/share/fonts/opentype/ipafont-gothic")
    if shutil.which("chromium") and font.is_dir():
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
    setup(strict=task != "lock")
    if task == "setup":
        return 0
    if task == "run":
        return serve("komawari", "serve", "--demo", *rest)
    if task == "demo":
        return run("komawari", "demo", *rest)
    if task == "test":
        ensure_browser()
        return run("pytest", *rest)
    if task == "lock":
        return lock(*rest)
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
            run("pybabel", "extract", "-F", "babel.cfg", "-k", "_", "-k", "say:2", "--no-location",
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
            print(
                "which one? python3 dev.py bench "
                "generation|api_schedule|booking_latency|pages|attack|furikae|notices",
                file=sys.stderr,
            )
            return 2
        return run("python", "-m", f"benchmarks.{rest[0]}", *rest[1:])
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
