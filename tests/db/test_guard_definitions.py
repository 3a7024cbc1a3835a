"""The guards: the models' indexes on the keys, rebuilt exactly, and agreeing with the doctor."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, time

import pytest
from sqlalchemy import Index, select, text
from sqlalchemy.orm import Session

from komawari.audit.models import AuditEvent
from komawari.db import guards as db_guards
from komawari.ops import dedupe, doctor
from komawari.ops import guard_switch as guards
from komawari.scheduling import keys
from tests import factories as f
from tests.ops.conftest import TEST_ACTOR

ALL = [g.name for g in db_guards.GUARDS]
KEY_OF = {
    "ux_class_sessions_unique_1on1": keys.LESSON_KEY,
    "uq_class_sessions_occurrence": keys.OCCURRENCE_KEY,
    "ux_class_series_active_private": keys.series_key("PRIVATE"),
    "ux_class_series_active_group": keys.series_key("GROUP"),
}


def definitions(db: Session) -> dict[str, tuple[str, str | None]]:
    """Return each guard's index definition and, for a constraint, its definition."""
    rows = db.execute(
        text(
            "SELECT c.relname, pg_get_indexdef(c.oid), pg_get_constraintdef(k.oid)"
            "  FROM pg_class c LEFT JOIN pg_constraint k ON k.conindid = c.oid"
            " WHERE c.relname = ANY(:names)"
        ),
        {"names": ALL},
    )
    return {str(r[0]): (str(r[1]), r[2]) for r in rows}


def test_each_guard_is_a_model_index_or_constraint_on_its_key() -> None:
    assert sorted(ALL) == sorted(KEY_OF)
    for guard in db_guards.GUARDS:
        assert tuple(c.name for c in guard.item.columns) == KEY_OF[guard.name], guard.name
        assert guard.is_constraint != isinstance(guard.item, Index)


def test_guards_on_rebuilds_every_guard_exactly_as_the_migrations_made_it(db: Session) -> None:
    migrated = definitions(db)
    assert set(migrated) == set(ALL)
    assert migrated["uq_class_sessions_occurrence"][1] == "UNIQUE (series_id, original_date)"
    assert "NULLS NOT DISTINCT" in migrated["ux_class_sessions_unique_1on1"][0]
    guards.turn_off(db, actor=TEST_ACTOR)
    assert definitions(db) == {}
    guards.turn_on(db, actor=TEST_ACTOR)
    assert definitions(db) == migrated


LESSON_SQL = """
INSERT INTO class_sessions (branch_id, time_zone, kind, title, date, start_time, end_time,
                            teacher_id, student_id, series_id, original_date, status,
                            cancel_reason)
VALUES (:b, 'Asia/Tokyo', CAST(:kind AS series_kind), :title, '2026-12-03', '20:00', '21:30',
        :t, :st, :series, :od, CAST(:status AS session_status),
        CASE WHEN CAST(:status AS text) = 'CANCELLED' THEN 'moved' END)
"""
SERIES_SQL = """
INSERT INTO class_series (branch_id, teacher_id, kind, student_id, title, capacity, weekdays,
                          start_time, end_time, first_date, status)
VALUES (:b, :t, :k, :st, :title, :cap, 9, '20:00', '21:30', '2026-12-01',
        CAST(:status AS series_status))
"""


def _lesson(db: Session, ids: dict[str, int], **over: object) -> Callable[[], object]:
    params: dict[str, object] = {"kind": "PRIVATE", "title": None, "series": None, "od": None}
    params |= {"status": "CONFIRMED", **ids, **over}
    if params["kind"] == "GROUP":
        params |= {"st": None, "title": "Club"}
    return lambda: db.execute(text(LESSON_SQL), params)


def _series(
    db: Session, ids: dict[str, int], kind: str, status: str = "ACTIVE"
) -> Callable[[], object]:
    group = kind == "GROUP"
    params = {**ids, "k": kind, "status": status, "st": None if group else ids["st"]}
    params |= {"title": "Club" if group else None, "cap": 5 if group else None}
    return lambda: db.execute(text(SERIES_SQL), params)


@pytest.fixture
def ids(db: Session) -> dict[str, int]:
    ids = {"b": f.branch(db).id, "t": f.teacher(db).id, "st": f.student(db).id}
    ids["series_id"] = f.private_series(db, weekdays=0b1, start=time(6), end=time(7)).id
    return ids


def _refused(db: Session, ids: dict[str, int], name: str) -> Callable[[], object]:
    return {
        "ux_class_sessions_unique_1on1": _lesson(db, ids),
        # Cancelled copies: only the occurrence key can refuse them.
        "uq_class_sessions_occurrence": _lesson(
            db, ids, series=ids["series_id"], od=date(2026, 12, 7), status="CANCELLED"
        ),
        "ux_class_series_active_private": _series(db, ids, "PRIVATE"),
        "ux_class_series_active_group": _series(db, ids, "GROUP"),
    }[name]


@pytest.mark.parametrize("name", ALL)
def test_a_duplicate_a_guard_refuses_is_found_by_the_doctor_and_repaired_by_dedupe(
    db: Session, ids: dict[str, int], name: str
) -> None:
    guards.turn_off(db, actor=TEST_ACTOR, names=[name])
    make = _refused(db, ids, name)
    make()
    make()
    counts = doctor.duplicate_counts(db)
    assert (counts.lesson_excess, counts.occurrence_excess, counts.duplicate_active) == {
        "ux_class_sessions_unique_1on1": (1, 0, 0),
        "uq_class_sessions_occurrence": (0, 1, 0),
        "ux_class_series_active_private": (0, 0, 1),
        "ux_class_series_active_group": (0, 0, 1),
    }[name]
    with pytest.raises(guards.DuplicatesBlockGuards):
        guards.turn_on(db, actor=TEST_ACTOR)
    result = dedupe.run(db, apply=True)
    assert not doctor.duplicate_counts(db).any
    assert guards.turn_on(db, actor=TEST_ACTOR).changed == [name]
    subject = "series" if "series" in name else "session"
    events = db.scalars(
        select(AuditEvent).where(
            AuditEvent.repair_id == result.repair_id, AuditEvent.subject_id.is_not(None)
        )
    ).all()
    assert {(e.action.split(".")[0], e.subject_type) for e in events} == {(subject, subject)}


def test_rows_every_guard_allows_are_not_counted_as_duplicates(
    db: Session, ids: dict[str, int]
) -> None:
    other = {**ids, "st": f.student(db).id}
    for make in (
        _lesson(db, ids),
        _lesson(db, other),  # the same time with another student: a conflict, not a copy
        _lesson(db, ids, status="CANCELLED"),  # cancelled copies of a live lesson (one-offs:
        _lesson(db, ids, status="CANCELLED"),  # no occurrence key either)
        _lesson(db, ids, kind="GROUP"),  # group lessons: not private, twice
        _lesson(db, ids, kind="GROUP"),
        _series(db, ids, "PRIVATE"),
        _series(db, other, "PRIVATE"),
        _series(db, ids, "PRIVATE", status="PAUSED"),
        _series(db, ids, "GROUP", status="ENDED"),
        _series(db, ids, "GROUP", status="ENDED"),
    ):
        make()  # the guards are on: the database accepts every row
    assert not doctor.duplicate_counts(db).any
    assert dedupe.run(db, apply=False).nothing_to_do
