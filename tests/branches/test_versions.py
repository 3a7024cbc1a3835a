"""The legacy import and the dedupe repair move the counters of the branches they change."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from komawari.branches import versions
from komawari.branches.models import Branch
from komawari.ops import dedupe, legacy_import
from komawari.ops import guard_switch as guards
from tests.factories.legacy import LegacyExport, incident_export, load_as_legacy
from tests.ops.conftest import TEST_ACTOR


@pytest.fixture
def export(tmp_path: Path) -> LegacyExport:
    """The incident-like legacy export, written as CSV files."""
    return incident_export(tmp_path / "export")


def _all(db: Session) -> dict[int, tuple[int, int]]:
    return {b: versions.version(db, b) for b in db.scalars(select(Branch.id))}


def test_an_import_changes_every_branch_it_fills(db: Session, export: LegacyExport) -> None:
    legacy_import.run(
        db, series_path=export.series_path, sessions_path=export.sessions_path, apply=False
    )
    before = _all(db)  # the dry run made the branches in a savepoint and rolled it back
    legacy_import.run(
        db, series_path=export.series_path, sessions_path=export.sessions_path, apply=True
    )
    after = _all(db)
    filled = db.scalars(text("SELECT DISTINCT branch_id FROM class_sessions")).all()
    assert filled
    assert all(after[b] != before.get(b, (0, 0)) for b in filled)


def test_dedupe_changes_every_branch_it_repairs(db: Session, export: LegacyExport) -> None:
    guards.turn_off(db, actor=TEST_ACTOR, reason="test: load legacy data")
    load_as_legacy(db, export)
    before = _all(db)
    result = dedupe.run(db, apply=True, actor=TEST_ACTOR)
    repaired = db.scalars(
        text("SELECT DISTINCT branch_id FROM class_sessions WHERE duplicate_of_id IS NOT NULL")
    ).all()
    assert repaired, result
    after = _all(db)
    assert all(after[b][0] > before[b][0] for b in repaired)


def test_one_transactions_writes_are_counted_in_one_slot(db: Session) -> None:
    db.execute(text("INSERT INTO branches (name) VALUES ('x'), ('y')"))
    db.execute(text("UPDATE branches SET name = name || '!'"))
    db.execute(text("UPDATE branches SET name = name || '!'"))
    rows = db.execute(
        text(
            "SELECT count(DISTINCT slot), min(changes) FROM branch_versions bv"
            " JOIN branches b ON b.id = bv.branch_id"
        )
    ).one()
    assert tuple(rows) == (1, 2)
