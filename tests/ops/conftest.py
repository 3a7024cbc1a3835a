"""Fixtures of the operator commands: the incident's data, table snapshots, the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from komawari import config
from komawari.audit.service import Actor
from komawari.cli.main import app
from komawari.db import engine as komawari_db
from komawari.db.registry import Base
from komawari.ops import guard_switch as guards
from tests.factories.legacy import LegacyExport, incident_export, load_as_legacy

TEST_ACTOR = Actor("test", "pytest")
Snapshot = dict[str, list[tuple[Any, ...]]]


def snapshot(conn: Connection | Session) -> Snapshot:
    """Return every row of every table (and the migration revision), in a stable order."""
    tables = [t.name for t in Base.metadata.sorted_tables] + ["alembic_version"]
    return {
        name: sorted((tuple(r) for r in conn.execute(text(f'SELECT * FROM "{name}"'))), key=repr)
        for name in tables
    }


@pytest.fixture
def export(tmp_path: Path) -> LegacyExport:
    """The incident-like legacy export, written as CSV files."""
    return incident_export(tmp_path / "export")


@pytest.fixture
def incident(db: Session, export: LegacyExport) -> dict[str, int]:
    """The export loaded as the legacy database held it: guards off, duplicates in."""
    guards.turn_off(db, actor=TEST_ACTOR, reason="test: load legacy data")
    return load_as_legacy(db, export)


@pytest.fixture
def committed_incident(committed_engine: Engine, export: LegacyExport) -> dict[str, int]:
    """The same, committed (for backups and the CLI)."""
    with Session(committed_engine) as s, s.begin():
        guards.turn_off(s, actor=TEST_ACTOR)
        ids = load_as_legacy(s, export)
    return ids


@pytest.fixture
def cli(
    committed_engine: Engine,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[..., Result]]:
    """Run `komawari ...` against the test database, with backups under tmp_path."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("KOMAWARI_DATA_DIR", str(tmp_path / "data"))

    def clear() -> None:
        if komawari_db.get_engine.cache_info().currsize:
            komawari_db.get_engine().dispose()
        config.get_settings.cache_clear()
        komawari_db.get_engine.cache_clear()
        komawari_db._migrated.clear()

    clear()
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input)

    yield invoke
    clear()


def json_of(result: Result) -> dict[str, Any]:
    """Return the one JSON object a `--json` command printed on stdout."""
    value = json.loads(result.stdout)
    assert isinstance(value, dict)
    return value
