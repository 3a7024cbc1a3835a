"""Names that say one thing each, and installs that are the same every time."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "komawari"


def test_the_database_session_is_called_db() -> None:
    # "session" is a lesson (the model's ClassSession) or a web session, never the
    # SQLAlchemy session a function takes.
    found = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
                    annotation = ast.unparse(arg.annotation) if arg.annotation else ""
                    if arg.arg == "session" and re.search(r"\bSession\b", annotation):
                        found.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name}")
    assert found == []


def test_one_module_each_is_called_guards_and_demo() -> None:
    for name in ("guards.py", "demo.py"):
        assert len(list(SRC.rglob(name))) == 1, name


def test_every_locked_package_is_pinned_with_its_hashes() -> None:
    lock = (ROOT / "requirements" / "dev.txt").read_text(encoding="utf-8")
    entries = re.findall(r"^([A-Za-z0-9._-]+)==(\S+) \\\n((?:\s+--hash=sha256:[0-9a-f]{64}.*\n)+)",
                         lock, flags=re.M)  # fmt: skip
    pinned = {name.lower(): version for name, version, _ in entries}
    requirement_lines = [
        line for line in lock.splitlines() if line and not line.startswith((" ", "#"))
    ]
    assert len(requirement_lines) == len(entries), "a locked line without a hash"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = project["project"]
    dev = listed["optional-dependencies"]["dev"]
    wanted = [Requirement(r) for r in listed["dependencies"] + dev]
    for requirement in wanted:
        version = pinned.get(requirement.name.lower())
        assert version is not None, f"{requirement.name} is not in the lock"
        assert requirement.specifier.contains(version), f"{requirement} but the lock has {version}"
    # setup installs from the lock, with pip's hash checking
    assert '"--require-hashes", "-r", str(LOCK)' in (ROOT / "dev.py").read_text(encoding="utf-8")
