"""docs/architecture.md cannot drift from the code: it names every package and module."""

from __future__ import annotations

from pathlib import Path

import komawari

SRC = Path(komawari.__file__).parent
DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"
# The soak is a package of its own beside the product (tools/soak): its modules are named
# with the package's name, `komawari_soak/cli.py`.
SOAK = Path(__file__).resolve().parents[1] / "tools" / "soak" / "src" / "komawari_soak"


def _modules() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC)
        if relative.parts[:2] == ("db", "migrations") or path.name == "__init__.py":
            continue  # migrations are history; a package is named by its folder
        found.append(relative.as_posix())
    return found


def _packages() -> list[str]:
    return sorted(
        f"{p.parent.relative_to(SRC).as_posix()}/"
        for p in SRC.rglob("__init__.py")
        if p.parent != SRC and "versions" not in p.parts
    )


def _soak_modules() -> list[str]:
    return [
        f"komawari_soak/{path.relative_to(SOAK).as_posix()}"
        for path in sorted(SOAK.rglob("*.py"))
        if path.name != "__init__.py"
    ]


def test_the_architecture_document_names_every_package_and_module() -> None:
    text = DOC.read_text()
    names = (*_packages(), *_modules(), *_soak_modules())
    missing = [name for name in names if f"`{name}`" not in text]
    assert missing == [], f"docs/architecture.md does not mention: {missing}"


def test_the_walk_finds_the_code() -> None:
    assert "sessions/" in _packages()
    assert "sessions/service.py" in _modules()
    assert "db/migrations/env.py" not in _modules()
    assert "komawari_soak/checks.py" in _soak_modules()
    assert not any(name.startswith("soak/") for name in _modules())  # not in the product


ROOT = Path(__file__).resolve().parents[1]


def test_the_docs_stand_alone_and_hold_the_nine_promises() -> None:
    # The docs once sent readers to a DOMAIN.md the repository does not have.
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        assert "DOMAIN.md" not in doc.read_text(encoding="utf-8"), doc.name
    text = DOC.read_text(encoding="utf-8")
    promises = text.split("## The promises", 1)[1].split("\n## ", 1)[0]
    assert [n for n in range(1, 11) if f"\n{n}. **" in promises] == list(range(1, 10))
    assert "docs/architecture.md" in (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
