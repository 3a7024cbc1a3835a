"""Dedupe's decisions on a small hand-made case: what it cancels, pauses, re-evaluates, says.

Three copies of one lesson, two of another, a later lesson that overlaps the first (same
teacher, another student) and two copies of a series, written with the guards off as the
legacy system left them. The report, the audit record and plan-or-apply are checked whole.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from komawari.audit.models import AuditEvent
from komawari.audit.service import Actor
from komawari.ops import dedupe
from komawari.ops import guard_switch as guards
from komawari.series.enums import SeriesKind
from komawari.series.models import ClassSeries
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from tests import factories as f
from tests.ops.conftest import TEST_ACTOR, snapshot

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
DAY = date(2026, 12, 3)


@pytest.fixture
def case(db: Session) -> dict[str, Any]:
    guards.turn_off(db, actor=TEST_ACTOR)
    b = f.branch(db)
    t, s, other = f.teacher(db, name="Sato"), f.student(db, name="Ito"), f.student(db)
    one = {"branch_row": b, "teacher_row": t, "student_row": s, "day": DAY}
    # The first lesson's verdict is stale (CONFLICTED): the repair re-evaluates it.
    a = [f.private_session(db, **one, status=SessionStatus.CONFLICTED) for _ in range(3)]
    later = {**one, "start": time(8), "end": time(9), "status": SessionStatus.CONFLICTED}
    b_rows = [f.private_session(db, **later) for _ in range(2)]
    clash = f.private_session(
        db, branch_row=b, teacher_row=t, student_row=other, day=DAY, start=time(21)
    )
    series = [
        f.private_series(db, branch_row=b, teacher_row=t, student_row=s, weekdays=0b1001)
        for _ in range(2)
    ]
    return {
        "a": [r.id for r in a],
        "b": [r.id for r in b_rows],
        "clash": clash.id,
        "series": [r.id for r in series],
    }


def test_the_report_counts_every_copy_names_the_kept_rows_and_the_new_verdicts(
    db: Session, case: dict[str, Any]
) -> None:
    a, b, (kept_series, paused) = case["a"], case["b"], case["series"]
    result = dedupe.run(db, apply=True, backup="before.dump", now=NOW)
    assert result.sessions == {a[1]: a[0], a[2]: a[0], b[1]: b[0]}
    assert result.series == {paused: kept_series}
    assert result.conflicts_changed == {
        a[0]: "CONFIRMED",
        b[0]: "CONFIRMED",
        case["clash"]: "CONFLICTED",
    }
    assert result.as_dict() == {
        "applied": True,
        "repair_id": str(result.repair_id),
        "backup": "before.dump",
        "nothing_to_do": False,
        "sessions": {
            "cancelled": 3,
            "already_cancelled_now_pointing": 0,
            "kept": [  # the most copied first
                {
                    "id": a[0],
                    "label": "2026-12-03 20:00-21:30 Sato / Ito",
                    "status": "CONFIRMED",
                    "copies": [a[1], a[2]],
                },
                {
                    "id": b[0],
                    "label": "2026-12-03 08:00-09:00 Sato / Ito",
                    "status": "CONFIRMED",
                    "copies": [b[1]],
                },
            ],
        },
        "series": {
            "paused": 1,
            "kept": [
                {
                    "id": kept_series,
                    "label": "Sato / Ito mon,thu 20:00-21:30",
                    "status": "ACTIVE",
                    "copies": [paused],
                }
            ],
        },
        "conflicts": {"verdicts_changed": 3, "now_confirmed": 2, "now_conflicted": 1},
    }


def test_the_repair_is_audited_once_with_what_it_did(db: Session, case: dict[str, Any]) -> None:
    repair_id = uuid.uuid4()
    actor = Actor("repair", "dedupe", repair_id=repair_id)
    dedupe.run(db, apply=True, actor=actor, backup="before.dump", now=NOW)
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "repair.dedupe")).one()
    assert (event.actor_type, event.actor, event.repair_id, event.subject_type) == (
        "repair",
        "dedupe",
        repair_id,
        "repair",
    )
    assert event.reason == "exact duplicates and duplicate ACTIVE series"
    assert event.details == {
        "sessions_cancelled": 3,
        "cancelled_rows_now_pointing": 0,
        "series_paused": 1,
        "conflicts_changed": {
            str(case["a"][0]): "CONFIRMED",
            str(case["b"][0]): "CONFIRMED",
            str(case["clash"]): "CONFLICTED",
        },
        "backup": "before.dump",
    }


def test_a_repair_without_a_repair_id_gets_one_for_all_its_records(
    db: Session, case: dict[str, Any]
) -> None:
    result = dedupe.run(db, apply=True, actor=Actor("repair", "dedupe"), now=NOW)
    assert isinstance(result.repair_id, uuid.UUID)
    events = db.scalars(select(AuditEvent).where(AuditEvent.repair_id == result.repair_id)).all()
    assert {e.action for e in events} >= {"repair.dedupe", "session.cancel_duplicate"}


def test_the_cancelled_copies_point_to_the_kept_one_with_the_duplicate_reason(
    db: Session, case: dict[str, Any]
) -> None:
    dedupe.run(db, apply=True, now=NOW)
    a = case["a"]
    rows = {r.id: r for r in db.scalars(select(ClassSession).where(ClassSession.id.in_(a)))}
    assert rows[a[0]].status == SessionStatus.CONFIRMED
    for copy in a[1:]:
        assert (rows[copy].status, rows[copy].duplicate_of_id) == (SessionStatus.CANCELLED, a[0])
        assert rows[copy].cancel_reason == "duplicate"


def test_a_plan_reports_the_same_as_apply_but_leaves_every_row_as_it_was(
    db: Session, case: dict[str, Any]
) -> None:
    before = snapshot(db)
    plan = dedupe.run(db, apply=False, backup="before.dump", now=NOW)
    assert snapshot(db) == before
    applied = dedupe.run(db, apply=True, backup="before.dump", now=NOW)
    assert (plan.applied, applied.applied) == (False, True)
    assert plan.backup == applied.backup == "before.dump"
    keep = ("sessions", "series", "conflicts_changed", "kept_sessions", "kept_series")
    assert {k: getattr(plan, k) for k in keep} == {k: getattr(applied, k) for k in keep}


def test_clean_data_has_nothing_to_do_and_writes_no_record(db: Session) -> None:
    b = f.branch(db)
    f.private_session(db, branch_row=b, teacher_row=f.teacher(db), student_row=f.student(db))
    result = dedupe.run(db, apply=True, now=NOW)
    assert result.nothing_to_do
    assert result.as_dict()["nothing_to_do"] is True
    assert db.scalars(select(AuditEvent).where(AuditEvent.action == "repair.dedupe")).all() == []


def test_a_changed_verdict_or_a_paused_series_alone_is_something_to_do() -> None:
    changed = dedupe.DedupeResult(uuid.uuid4(), applied=True, conflicts_changed={1: "CONFIRMED"})
    assert not changed.nothing_to_do
    assert not dedupe.DedupeResult(uuid.uuid4(), applied=True, series={2: 1}).nothing_to_do


def test_a_cancelled_copy_that_steps_aside_is_counted_apart_from_the_cancelled_ones(
    db: Session, incident: dict[str, int]
) -> None:
    result = dedupe.run(db, apply=True, now=NOW)
    stepped = db.scalars(
        select(ClassSession.id).where(
            ClassSession.series_id == incident["S1"],
            ClassSession.date == date(2026, 12, 10),
            ClassSession.cancel_reason == "legacy",
        )
    ).all()
    assert result.already_cancelled == set(stepped)
    report = result.as_dict()["sessions"]
    assert report["cancelled"] == len(result.sessions) - 1
    assert report["already_cancelled_now_pointing"] == 1
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "repair.dedupe")).one()
    assert event.details["sessions_cancelled"] == len(result.sessions) - 1
    assert event.details["cancelled_rows_now_pointing"] == 1


def test_a_plan_judges_the_future_from_the_time_it_is_given(db: Session) -> None:
    guards.turn_off(db, actor=TEST_ACTOR)
    b, t = f.branch(db), f.teacher(db)
    copies = []
    for minute in (0, 5):
        row = ClassSeries(
            branch_id=b.id,
            teacher_id=t.id,
            kind=SeriesKind.GROUP,
            title="Math club",
            capacity=6,
            weekdays=0b1,
            start_time=time(17),
            end_time=time(18),
            first_date=date(2001, 1, 1),
            created_at=datetime(2000, 10, 1, 0, minute, tzinfo=UTC),
        )
        db.add(row)
        db.flush()
        lesson = ClassSession(
            branch_id=b.id,
            time_zone=b.time_zone,
            series_id=row.id,
            original_date=date(2001, 1, 8),
            kind=SeriesKind.GROUP,
            title="Math club",
            date=date(2001, 1, 8),
            start_time=time(17),
            end_time=time(18),
            teacher_id=t.id,
        )
        db.add(lesson)
        db.flush()
        copies.append(lesson.id)
    # In 2000 the lesson of 2001 is in the future: the paused copy's lesson is cancelled.
    plan = dedupe.run(db, apply=False, now=datetime(2000, 12, 1, tzinfo=UTC))
    assert plan.sessions == {copies[1]: copies[0]}
