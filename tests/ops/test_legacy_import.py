"""Import from the legacy system: deduplicated on the way in, re-runnable, bad rows reported."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from komawari.audit.models import AuditEvent
from komawari.db.registry import ClassSeries, ClassSession
from komawari.errors import InvalidInput
from komawari.ops import doctor, legacy_import
from komawari.ops.legacy_report import ImportReport
from komawari.series.enums import SeriesStatus
from komawari.sessions.enums import SessionStatus
from tests import factories as f
from tests.factories.legacy import INCIDENT_DAY, MON_THU, LegacyExport, incident_export
from tests.ops.conftest import snapshot


def _run(db: Session, export: LegacyExport, **options: object) -> ImportReport:
    return legacy_import.run(
        db,
        series_path=export.series_path,
        sessions_path=export.sessions_path,
        apply=bool(options.pop("apply", True)),
        **options,  # type: ignore[arg-type]
    )


def _by_legacy_id(db: Session, legacy_id: str) -> ClassSession:
    return db.scalars(select(ClassSession).where(ClassSession.legacy_id == legacy_id)).one()


def _series(db: Session, legacy_id: str) -> ClassSeries:
    return db.scalars(select(ClassSeries).where(ClassSeries.legacy_id == legacy_id)).one()


def test_a_dry_run_reports_what_it_would_do_and_changes_nothing(
    db: Session, export: LegacyExport
) -> None:
    before = snapshot(db)
    report = _run(db, export, apply=False).as_dict()
    assert snapshot(db) == before
    live: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for r in export.sessions:
        if r["status"] != "CANCELLED":
            live[r["date"]].append((r["start_time"], r["end_time"], r["teacher"], r["student"]))
    expected = {
        d: {"total": len(k), "unique": len(set(k)), "excess": len(k) - len(set(k))}
        for d, k in live.items()
    }
    assert report["applied"] is False
    assert report["sessions"]["by_date"] == dict(sorted(expected.items()))
    assert report["sessions"]["read"] == len(export.sessions)
    assert report["sessions"]["excess_duplicates"] == sum(e["excess"] for e in expected.values())
    assert report["sessions"]["created"] == len(export.sessions)
    assert report["series"] == {
        "read": len(export.series),
        "duplicate_active": 4,
        "paused": 4,
        "created": len(export.series),
        "skipped_existing": 0,
    }
    assert report["errors"] == []


def test_apply_loads_the_export_without_a_duplicate(db: Session, export: LegacyExport) -> None:
    report = _run(db, export)
    assert report.applied
    counts = doctor.duplicate_counts(db)
    assert (counts.lesson_excess, counts.occurrence_excess, counts.duplicate_active) == (0, 0, 0)
    assert set(doctor.guard_states(db).values()) == {"ok"}  # never switched off
    legacy = db.scalar(select(func.count()).where(ClassSession.legacy_id.is_not(None)))
    assert legacy == len(export.sessions)  # every row kept, none deleted
    survivor = _by_legacy_id(db, export.survivor)
    assert survivor.status == SessionStatus.CONFIRMED
    copies = db.scalars(
        select(ClassSession).where(
            ClassSession.date == INCIDENT_DAY,
            ClassSession.start_time == time(20),
            ClassSession.id != survivor.id,
        )
    ).all()
    assert len(copies) == 17
    assert {(c.status, c.cancel_reason, c.duplicate_of_id) for c in copies} == {
        (SessionStatus.CANCELLED, "duplicate", survivor.id)
    }
    for legacy_id in export.real_conflicts:
        assert _by_legacy_id(db, legacy_id).status == SessionStatus.CONFLICTED


def test_apply_pauses_the_later_duplicate_series(db: Session, export: LegacyExport) -> None:
    _run(db, export)
    kept = {_series(db, s).id for s in export.kept_series}
    for legacy_id in export.paused_series:
        series = _series(db, legacy_id)
        assert series.status == SeriesStatus.PAUSED
        assert series.duplicate_of_id in kept
    assert {_series(db, s).status for s in export.kept_series} == {SeriesStatus.ACTIVE}
    assert _series(db, "S7").duplicate_of_id is None  # PAUSED in the legacy system already


def test_legacy_statuses_are_not_trusted(tmp_path: Path, db: Session) -> None:
    export = incident_export(tmp_path)
    wrong = {export.survivor: "CONFLICTED", export.real_conflicts[1]: "CONFIRMED"}
    for row in export.sessions:
        row["status"] = wrong.get(row["id"], row["status"])
    _run(db, export.write())
    assert _by_legacy_id(db, export.survivor).status == SessionStatus.CONFIRMED
    assert _by_legacy_id(db, export.real_conflicts[1]).status == SessionStatus.CONFLICTED


def test_the_live_row_holds_the_occurrence_and_the_others_point_to_it(
    db: Session, export: LegacyExport
) -> None:
    _run(db, export)
    s1 = _series(db, "S1")
    rows = db.scalars(
        select(ClassSession)
        .where(ClassSession.series_id == s1.id, ClassSession.date == MON_THU[3])
        .order_by(ClassSession.created_at)
    ).all()
    cancelled, live = rows
    assert (live.status, live.original_date) == (SessionStatus.CONFIRMED, MON_THU[3])
    assert (cancelled.original_date, cancelled.duplicate_of_id) == (None, live.id)
    assert cancelled.cancel_reason == "cancelled in the legacy system"


def test_series_dates_come_from_their_lessons(db: Session, export: LegacyExport) -> None:
    _run(db, export)
    s1, s9 = _series(db, "S1"), _series(db, "S9")
    assert (s1.first_date, s1.generated_through, s1.last_date) == (MON_THU[0], MON_THU[3], None)
    assert (s9.status, s9.first_date, s9.last_date) == (SeriesStatus.ENDED, MON_THU[0], MON_THU[0])
    assert _series(db, "S7").generated_through is None  # no lessons: generation decides


def test_importing_the_same_files_again_changes_nothing(db: Session, export: LegacyExport) -> None:
    _run(db, export)
    before = snapshot(db)
    again = _run(db, export)
    assert again.nothing_to_do
    assert again.as_dict()["sessions"]["skipped_existing"] == len(export.sessions)
    assert snapshot(db) == before


def test_everything_imported_is_audited_under_one_repair_id(
    db: Session, export: LegacyExport
) -> None:
    report = _run(db, export)
    events = db.scalars(select(AuditEvent).where(AuditEvent.repair_id == report.repair_id)).all()
    actions = Counter(e.action for e in events)
    assert actions["session.import"] == len(export.sessions)
    assert actions["series.import"] == len(export.series)
    assert actions["series.pause_duplicate"] == 4
    assert actions["import.legacy"] == 1
    assert {e.actor_type for e in events} == {"import"}


def test_bad_rows_are_reported_with_file_and_line_and_the_rest_loads(
    tmp_path: Path, db: Session
) -> None:
    export = incident_export(tmp_path, with_bad_rows=True)
    report = _run(db, export)
    found = [(e.file, e.line, e.message) for e in report.errors]
    assert [(file, line) for file, line, _ in found] == [(f, n) for f, n, _ in export.bad_rows]
    for (_, _, message), (_, _, fragment) in zip(found, export.bad_rows, strict=True):
        assert fragment in message
    loaded = db.scalar(select(func.count()).where(ClassSession.legacy_id.is_not(None)))
    assert loaded == len(export.sessions) - 4
    assert (
        db.scalar(select(func.count()).where(ClassSeries.legacy_id.is_not(None)))
        == len(export.series) - 1
    )


def test_strict_loads_nothing_when_a_row_is_bad(tmp_path: Path, db: Session) -> None:
    export = incident_export(tmp_path, with_bad_rows=True)
    before = snapshot(db)
    report = _run(db, export, strict=True)
    assert not report.applied
    assert len(report.errors) == len(export.bad_rows)
    assert snapshot(db) == before


def test_a_file_without_the_expected_columns_is_refused(tmp_path: Path, db: Session) -> None:
    export = incident_export(tmp_path)
    export.sessions_path.write_text("id,date\nL1,2026-12-03\n")
    with pytest.raises(InvalidInput, match=r"line 1: missing column\(s\) series_id"):
        _run(db, export)


def test_a_legacy_row_that_duplicates_an_existing_lesson_points_to_it(
    db: Session, export: LegacyExport
) -> None:
    branch = f.branch(db, name="Shibuya")
    teacher, student = f.teacher(db, name="Teacher 01"), f.student(db, name="Student 01")
    existing = f.private_session(
        db,
        branch_row=branch,
        teacher_row=teacher,
        student_row=student,
        day=date(2026, 11, 30),
        start=time(15),
        end=time(16),
    )
    before = (existing.status, existing.created_at)
    _run(db, export)
    db.refresh(existing)
    assert (existing.status, existing.created_at) == before  # an import never changes it
    legacy = db.scalars(
        select(ClassSession).where(ClassSession.duplicate_of_id == existing.id)
    ).one()
    assert legacy.status == SessionStatus.CANCELLED
    assert legacy.original_date == date(2026, 11, 30)  # it still holds its occurrence
