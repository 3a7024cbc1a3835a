"""Dedupe: the incident's repair, planned then applied, on data loaded with the guards off."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime, time

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from komawari.audit.models import AuditEvent
from komawari.audit.service import Actor
from komawari.db.registry import ClassSeries, ClassSession
from komawari.ops import dedupe, doctor
from komawari.ops import guard_switch as guards
from komawari.series.enums import SeriesKind, SeriesStatus
from komawari.sessions.enums import SessionStatus
from tests import factories as f
from tests.factories.legacy import INCIDENT_DAY, LegacyExport
from tests.ops.conftest import TEST_ACTOR, snapshot

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # before every lesson of the export


def _exact_excess(export: LegacyExport) -> int:
    live = Counter(
        (r["date"], r["start_time"], r["end_time"], r["teacher"], r["student"])
        for r in export.sessions
        if r["status"] != "CANCELLED"
    )
    return sum(n - 1 for n in live.values())


def _status(db: Session, session_id: int) -> SessionStatus:
    return db.get_one(ClassSession, session_id, populate_existing=True).status


def test_the_plan_reports_the_repair_and_changes_nothing(
    db: Session, export: LegacyExport, incident: dict[str, int]
) -> None:
    before = snapshot(db)
    plan = dedupe.run(db, apply=False, now=NOW)
    assert snapshot(db) == before
    assert not plan.applied
    # Counted independently: the excess live copies, plus the one legacy-cancelled copy
    # that must give its occurrence to the live copy of the same series and date.
    assert len(plan.sessions) - len(plan.already_cancelled) == _exact_excess(export)
    assert len(plan.already_cancelled) == 1
    assert sorted(plan.series) == sorted(incident[s] for s in export.paused_series)


def test_apply_leaves_no_duplicate_and_keeps_the_earliest(
    db: Session, export: LegacyExport, incident: dict[str, int]
) -> None:
    rows_before = db.scalar(select(func.count()).select_from(ClassSession))
    result = dedupe.run(db, apply=True, now=NOW)

    counts = doctor.duplicate_counts(db)
    assert (counts.lesson_excess, counts.occurrence_excess, counts.duplicate_active) == (0, 0, 0)
    assert db.scalar(select(func.count()).select_from(ClassSession)) == rows_before  # no delete
    survivor = incident[export.survivor]
    assert _status(db, survivor) == SessionStatus.CONFIRMED
    copies = db.scalars(
        select(ClassSession).where(
            ClassSession.date == INCIDENT_DAY,
            ClassSession.start_time == time(20),
            ClassSession.id != survivor,
        )
    ).all()
    assert len(copies) == 17
    assert {(c.status, c.cancel_reason, c.duplicate_of_id) for c in copies} == {
        (SessionStatus.CANCELLED, "duplicate", survivor)
    }
    for legacy_id in export.real_conflicts:
        assert _status(db, incident[legacy_id]) == SessionStatus.CONFLICTED
    # The teacher's one-off booked later overlaps the survivor, and now says so.
    blocked = db.get_one(ClassSession, incident[export.real_conflicts[0]])
    assert blocked.conflicts_with == [survivor]
    assert incident[export.real_conflicts[0]] in result.conflicts_changed


def test_apply_pauses_the_later_duplicate_series_and_names_the_kept_one(
    db: Session, export: LegacyExport, incident: dict[str, int]
) -> None:
    dedupe.run(db, apply=True, now=NOW)
    kept = {incident["S1"], incident["S5"]}
    for legacy_id in export.paused_series:
        series = db.get_one(ClassSeries, incident[legacy_id], populate_existing=True)
        assert series.status == SeriesStatus.PAUSED
        assert series.duplicate_of_id in kept
        assert str(series.duplicate_of_id) in (series.status_reason or "")
    for legacy_id in ("S1", "S5", "S8", "R1"):
        assert db.get_one(ClassSeries, incident[legacy_id]).status == SeriesStatus.ACTIVE
    s7 = db.get_one(ClassSeries, incident["S7"])
    assert (s7.status, s7.duplicate_of_id) == (SeriesStatus.PAUSED, None)  # never ACTIVE


def test_a_live_copy_holds_the_occurrence_over_an_earlier_cancelled_one(
    db: Session, incident: dict[str, int]
) -> None:
    dedupe.run(db, apply=True, now=NOW)
    rows = db.scalars(
        select(ClassSession)
        .where(ClassSession.series_id == incident["S1"], ClassSession.date == date(2026, 12, 10))
        .order_by(ClassSession.created_at)
    ).all()
    cancelled, live = rows
    assert live.status != SessionStatus.CANCELLED
    assert live.original_date == date(2026, 12, 10)
    assert cancelled.original_date is None
    assert cancelled.duplicate_of_id == live.id
    assert cancelled.cancel_reason == "legacy"  # its own reason is kept


def test_a_second_run_finds_nothing_to_do(db: Session, incident: dict[str, int]) -> None:
    assert not dedupe.run(db, apply=True, now=NOW).nothing_to_do
    before = snapshot(db)
    again = dedupe.run(db, apply=True, now=NOW)
    assert again.nothing_to_do
    assert snapshot(db) == before


def test_everything_is_audited_under_one_repair_id(
    db: Session, export: LegacyExport, incident: dict[str, int]
) -> None:
    result = dedupe.run(db, apply=True, now=NOW)
    events = db.scalars(select(AuditEvent).where(AuditEvent.repair_id == result.repair_id)).all()
    by_action = Counter(e.action for e in events)
    # One event per change: a copy cancelled, then stepping aside from its occurrence, has two.
    assert by_action["session.cancel_duplicate"] >= len(result.sessions)
    assert by_action["series.pause_duplicate"] == len(export.paused_series)
    assert by_action["repair.dedupe"] == 1
    assert {(e.actor_type, e.actor) for e in events} == {("repair", "dedupe")}
    cancelled = {e.subject_id for e in events if e.action == "session.cancel_duplicate"}
    assert cancelled == set(result.sessions)


def test_future_sessions_of_a_paused_group_series_that_copy_the_kept_ones_are_cancelled(
    db: Session,
) -> None:
    guards.turn_off(db, actor=TEST_ACTOR)
    branch, teacher = f.branch(db), f.teacher(db)
    ids = []
    for minute in (0, 5):
        row = ClassSeries(
            branch_id=branch.id,
            teacher_id=teacher.id,
            kind=SeriesKind.GROUP,
            title="Math club",
            capacity=6,
            weekdays=0b1,
            start_time=time(17),
            end_time=time(18),
            first_date=date(2026, 11, 2),
            created_at=datetime(2026, 10, 1, 0, minute, tzinfo=UTC),
        )
        db.add(row)
        db.flush()
        ids.append(row.id)
    for series_id in ids:
        for day in (date(2026, 11, 16), date(2026, 11, 30)):  # one past, one future
            db.execute(
                text(
                    "INSERT INTO class_sessions (branch_id, time_zone, series_id, original_date,"
                    " kind, title, date, start_time, end_time, teacher_id) VALUES"
                    " (:b, 'Asia/Tokyo', :s, :d, 'GROUP', 'Math club', :d, '17:00', '18:00', :t)"
                ),
                {"b": branch.id, "s": series_id, "d": day, "t": teacher.id},
            )
    result = dedupe.run(db, apply=True, now=NOW)
    assert result.series == {ids[1]: ids[0]}
    later = {
        s.date: s for s in db.scalars(select(ClassSession).where(ClassSession.series_id == ids[1]))
    }
    assert later[date(2026, 11, 30)].status == SessionStatus.CANCELLED
    assert later[date(2026, 11, 30)].cancel_reason == "duplicate"
    assert later[date(2026, 11, 16)].status != SessionStatus.CANCELLED  # history is kept


def test_a_plan_writes_nothing_to_the_audit_log(db: Session, incident: dict[str, int]) -> None:
    repair_id = uuid.uuid4()
    dedupe.run(db, apply=False, actor=Actor("repair", "dedupe", repair_id), now=NOW)
    assert db.scalar(select(func.count()).where(AuditEvent.repair_id == repair_id)) == 0
