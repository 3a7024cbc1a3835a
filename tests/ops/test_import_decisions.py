"""The legacy import's decisions: where a one-off lesson lands, what a run loads or keeps back.

A one-off lesson (no series_id) is placed by its own branch column, else where its
teacher and student have a series together, else the teacher's, else the student's
(the earliest series first), else --branch, else the only branch there is. A lesson of an
unknown series is a bad row that says why. Then: strict loads nothing when a row is bad,
a dry run rolls back, an applied run is recorded once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from komawari.audit.models import AuditEvent
from komawari.branches.models import Branch
from komawari.db.registry import ClassSession
from komawari.ops import legacy_import
from komawari.ops.legacy_report import ImportReport
from tests import factories as f

SERIES_HEAD = "id,branch,teacher,student,start_time,end_time,days_of_week,status,created_at\n"
SESSION_HEAD = "id,series_id,date,start_time,end_time,teacher,student,status,created_at,branch\n"
BOOKED = "2026-10-01T09:00:00+09:00"
# Listed latest first: the teacher's and the student's earliest series decide, not the order.
SERIES = [
    "S3,Ebisu,Sato,Kimura,09:00,10:00,[2],ACTIVE,2026-09-03T09:00:00+09:00",
    "S2,Ebisu,Kato,Mori,09:00,10:00,[3],ACTIVE,2026-09-02T09:00:00+09:00",
    "S1,Shibuya,Sato,Ito,09:00,10:00,[1],ACTIVE,2026-09-01T09:00:00+09:00",
    "S8,Shibuya,,Ito,09:00,10:00,[1],ACTIVE,2026-09-01T09:00:00+09:00",  # bad: no teacher
]


def _lesson(legacy_id: str, teacher: str, student: str, series: str = "", branch: str = "") -> str:
    hour = 10 + int(legacy_id[1:])
    return (
        f"{legacy_id},{series},2026-12-0{1 + int(legacy_id[1:]) % 7},{hour}:00,{hour}:30,"
        f"{teacher},{student},CONFIRMED,{BOOKED},{branch}"
    )


def _files(tmp_path: Path, series: list[str], sessions: list[str]) -> tuple[Path, Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    series_path, sessions_path = tmp_path / "series.csv", tmp_path / "sessions.csv"
    series_path.write_text(SERIES_HEAD + "".join(r + "\n" for r in series), encoding="utf-8")
    sessions_path.write_text(SESSION_HEAD + "".join(r + "\n" for r in sessions), encoding="utf-8")
    return series_path, sessions_path


def _import(db: Session, paths: tuple[Path, Path], **options: Any) -> ImportReport:
    return legacy_import.run(
        db,
        series_path=paths[0],
        sessions_path=paths[1],
        apply=options.pop("apply", True),
        **options,
    )


def _branches(db: Session) -> dict[str, str]:
    rows = db.execute(
        select(ClassSession.legacy_id, Branch.name)
        .join(Branch, Branch.id == ClassSession.branch_id)
        .where(ClassSession.legacy_id.is_not(None))
    )
    return {str(legacy_id): name for legacy_id, name in rows}


def test_a_one_off_lands_by_its_column_then_pair_teacher_student_then_the_default(
    db: Session, tmp_path: Path
) -> None:
    sessions = [
        _lesson("O1", "Sato", "Ito"),  # the pair's series: Shibuya
        _lesson("O2", "Sato", "Kimura"),  # the pair's series (Ebisu), not Sato's first
        _lesson("O3", "Sato", "Mori"),  # no pair: Sato's earliest series, Shibuya
        _lesson("O4", "Tanaka", "Mori"),  # no pair, unknown teacher: Mori's, Ebisu
        _lesson("O5", "Sato", "Ito", branch="Meguro"),  # its own column first
        _lesson("O6", "Tanaka", "Suzuki"),  # nobody known: --branch
        _lesson("O7", "Sato", "Ito", series="S2"),  # a lesson of a series: the series' branch
    ]
    report = _import(db, _files(tmp_path, SERIES, sessions), default_branch="Shinjuku")
    assert [e.legacy_id for e in report.errors] == ["S8"]
    assert _branches(db) == {
        "O1": "Shibuya",
        "O2": "Ebisu",
        "O3": "Shibuya",
        "O4": "Ebisu",
        "O5": "Meguro",
        "O6": "Shinjuku",
        "O7": "Ebisu",
    }


def test_a_one_off_nobody_can_place_is_a_bad_row_naming_the_fix(
    db: Session, tmp_path: Path
) -> None:
    # Every such row is reported, not only the first; the rows after it are still placed.
    lessons = [_lesson("O6", "Tanaka", "Suzuki"), _lesson("O5", "Kudo", "Abe"),
               _lesson("O1", "Sato", "Ito")]  # fmt: skip
    report = _import(db, _files(tmp_path, SERIES, lessons))
    fix = "branch: a one-off lesson needs a branch; add a branch column or pass --branch NAME"
    placing = [(e.file, e.line, e.legacy_id, e.message) for e in report.errors]
    assert placing[-2:] == [("sessions.csv", 2, "", fix), ("sessions.csv", 3, "", fix)]
    assert _branches(db) == {"O1": "Shibuya"}


def test_with_one_branch_in_the_school_a_one_off_lands_there(db: Session, tmp_path: Path) -> None:
    f.branch(db, name="Solo")
    report = _import(db, _files(tmp_path, [], [_lesson("O1", "Tanaka", "Suzuki")]))
    assert report.errors == []
    assert _branches(db) == {"O1": "Solo"}


def test_a_lesson_of_an_unknown_or_bad_series_is_a_bad_row_saying_which(
    db: Session, tmp_path: Path
) -> None:
    sessions = [
        _lesson("O1", "Sato", "Ito", series="S9"),
        _lesson("O2", "Sato", "Ito", series="S8"),
    ]
    report = _import(db, _files(tmp_path, SERIES, sessions))
    messages = {(e.file, e.line): e.message for e in report.errors}
    assert messages == {
        ("series.csv", 5): "teacher: required",
        ("sessions.csv", 2): "series_id: unknown series 'S9'",
        ("sessions.csv", 3): "series_id: unknown series 'S8' (its row, series.csv line 5, is bad)",
    }
    assert [(e.file, e.line) for e in report.errors] == sorted(messages)


def test_a_lesson_of_a_series_imported_before_lands_in_its_branch(
    db: Session, tmp_path: Path
) -> None:
    _import(db, _files(tmp_path / "first", SERIES[:3], []))
    report = _import(
        db, _files(tmp_path / "second", [], [_lesson("O1", "Sato", "Ito", series="S3")])
    )
    assert report.errors == []
    assert _branches(db) == {"O1": "Ebisu"}


def test_strict_loads_nothing_and_reports_what_it_read(db: Session, tmp_path: Path) -> None:
    bad_day = _lesson("O2", "Sato", "Ito").replace("2026-12-03", "2026-13-03")
    paths = _files(tmp_path, SERIES, [_lesson("O1", "Sato", "Ito"), bad_day])
    report = _import(db, paths, strict=True)
    assert (report.applied, report.strict, report.series_read, report.sessions_read) == (
        False,
        True,
        4,
        2,  # a bad row was read too
    )
    assert [e.legacy_id for e in report.errors] == ["S8", "O2"]
    assert report.created == {}
    assert _branches(db) == {}


def test_a_dry_run_reports_the_counts_and_loads_nothing(db: Session, tmp_path: Path) -> None:
    steps: list[str] = []
    paths = _files(tmp_path, SERIES[:3], [_lesson("O1", "Sato", "Ito")])
    report = _import(db, paths, apply=False, progress=steps.append)
    assert steps == list(legacy_import.STEPS)
    assert (report.applied, report.created["series"], report.created["sessions"]) == (False, 3, 1)
    assert _branches(db) == {}
    assert db.scalars(select(AuditEvent).where(AuditEvent.action == "import.legacy")).all() == []


def test_an_applied_import_is_recorded_once_under_its_repair_id(
    db: Session, tmp_path: Path
) -> None:
    paths = _files(tmp_path, SERIES, [_lesson("O1", "Sato", "Ito")])
    report = _import(db, paths)
    assert report.applied
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "import.legacy")).one()
    assert (event.actor_type, event.actor, event.repair_id, event.subject_type) == (
        "import",
        "legacy:sessions.csv",
        report.repair_id,
        "import",
    )
    assert event.reason == "legacy import of series.csv and sessions.csv"
    # Recorded before the savepoint is released, so it still reads "not applied".
    assert event.details == {**report.as_dict(), "applied": False, "errors": 1}


def test_importing_nothing_new_records_nothing(db: Session, tmp_path: Path) -> None:
    paths = _files(tmp_path, SERIES[:3], [])
    _import(db, paths)
    again = _import(db, paths)
    assert again.nothing_to_do
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "import.legacy")).all()
    assert len(events) == 1


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "Europe/London"])
def test_a_branch_the_import_creates_takes_the_zone_given(
    db: Session, tmp_path: Path, zone: str
) -> None:
    _import(db, _files(tmp_path, SERIES[:1], []), time_zone=zone)
    assert db.scalars(select(Branch.time_zone).where(Branch.name == "Ebisu")).one() == zone


def test_a_branch_the_import_creates_is_in_tokyo_unless_told(db: Session, tmp_path: Path) -> None:
    _import(db, _files(tmp_path, SERIES[:1], []))
    assert db.scalars(select(Branch.time_zone).where(Branch.name == "Ebisu")).one() == "Asia/Tokyo"
