"""Guards off and on: dropped by name and recorded; re-created only once duplicates are gone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, time

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from komawari.audit.models import AuditEvent
from komawari.db import guards as db_guards
from komawari.errors import InvalidInput
from komawari.ops import dedupe, doctor
from komawari.ops import guard_switch as guards
from tests import factories as f
from tests.ops.conftest import TEST_ACTOR

ALL = [g.name for g in db_guards.GUARDS]


def test_a_migrated_database_has_every_guard(db: Session) -> None:
    assert doctor.guard_states(db) == dict.fromkeys(ALL, "ok")


def test_off_drops_every_guard_and_records_it(db: Session) -> None:
    change = guards.turn_off(db, actor=TEST_ACTOR, reason="bulk fix")
    assert change.changed == ALL
    assert doctor.guard_states(db) == dict.fromkeys(ALL, "missing")
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "guards.off")).one()
    assert (event.reason, event.details["dropped"]) == ("bulk fix", ALL)


def test_off_can_drop_one_guard_by_name_and_refuses_an_unknown_name(db: Session) -> None:
    guards.turn_off(db, actor=TEST_ACTOR, names=["ux_class_series_active_group"])
    states = doctor.guard_states(db)
    assert states.pop("ux_class_series_active_group") == "missing"
    assert set(states.values()) == {"ok"}
    with pytest.raises(InvalidInput, match="unknown guard 'ux_nope'"):
        guards.turn_off(db, actor=TEST_ACTOR, names=["ux_nope"])


def test_on_refuses_while_duplicates_exist_and_names_the_dedupe_command(
    db: Session, incident: dict[str, int]
) -> None:
    with pytest.raises(guards.DuplicatesBlockGuards) as refused:
        guards.turn_on(db, actor=TEST_ACTOR)
    assert "komawari dedupe --apply" in refused.value.detail
    counts = refused.value.counts
    assert counts == doctor.duplicate_counts(db)
    assert counts.lesson_excess > 0
    assert counts.duplicate_active == 4
    assert set(doctor.guard_states(db).values()) == {"missing"}


def test_on_succeeds_after_dedupe_and_records_it(db: Session, incident: dict[str, int]) -> None:
    dedupe.run(db, apply=True)
    change = guards.turn_on(db, actor=TEST_ACTOR)
    assert change.changed == ALL
    assert doctor.guard_states(db) == dict.fromkeys(ALL, "ok")
    assert db.scalars(select(AuditEvent).where(AuditEvent.action == "guards.on")).one()
    assert guards.turn_on(db, actor=TEST_ACTOR).changed == []  # nothing left to do


def test_an_invalid_guard_is_rebuilt(db: Session) -> None:
    db.execute(
        text(
            "UPDATE pg_index SET indisvalid = false"
            " WHERE indexrelid = 'ux_class_sessions_unique_1on1'::regclass"
        )
    )
    assert doctor.guard_states(db)["ux_class_sessions_unique_1on1"] == "invalid"
    assert guards.turn_on(db, actor=TEST_ACTOR).changed == ["ux_class_sessions_unique_1on1"]
    assert doctor.guard_states(db)["ux_class_sessions_unique_1on1"] == "ok"


def _lesson(db: Session, ids: dict[str, int], **over: object) -> Callable[[], None]:
    params: dict[str, object] = {"d": date(2026, 12, 3), "series": None, "od": None}
    params |= {"status": "CONFIRMED", **ids}
    params.update(over)

    def insert() -> None:
        db.execute(
            text(
                "INSERT INTO class_sessions (branch_id, time_zone, kind, date, start_time,"
                " end_time, teacher_id, student_id, series_id, original_date, status,"
                " cancel_reason) VALUES (:b, 'Asia/Tokyo', 'PRIVATE', :d, '20:00', '21:30', :t,"
                " :st, :series, :od, CAST(:status AS session_status),"
                " CASE WHEN CAST(:status AS text) = 'CANCELLED' THEN 'moved' END)"
            ),
            params,
        )

    return insert


def _series(db: Session, ids: dict[str, int], kind: str) -> Callable[[], None]:
    def insert() -> None:
        db.execute(
            text(
                "INSERT INTO class_series (branch_id, teacher_id, kind, student_id, title,"
                " capacity, weekdays, start_time, end_time, first_date) VALUES (:b, :t, :k,"
                " :st, :title, :cap, 9, '20:00', '21:30', '2026-12-01')"
            ),
            {
                **ids,
                "k": kind,
                "st": ids["st"] if kind == "PRIVATE" else None,
                "title": "Club" if kind == "GROUP" else None,
                "cap": 5 if kind == "GROUP" else None,
            },
        )

    return insert


@pytest.mark.parametrize("name", ALL)
def test_each_guard_refuses_its_duplicate_again_after_off_and_on(db: Session, name: str) -> None:
    ids = {"b": f.branch(db).id, "t": f.teacher(db).id, "st": f.student(db).id}
    series_id = f.private_series(db, weekdays=0b1, start=time(6), end=time(7)).id
    make = {
        "ux_class_sessions_unique_1on1": _lesson(db, ids),
        # Cancelled copies: only the occurrence key can refuse them.
        "uq_class_sessions_occurrence": _lesson(
            db, ids, series=series_id, od=date(2026, 12, 7), status="CANCELLED"
        ),
        "ux_class_series_active_private": _series(db, ids, "PRIVATE"),
        "ux_class_series_active_group": _series(db, ids, "GROUP"),
    }[name]
    guards.turn_off(db, actor=TEST_ACTOR)
    guards.turn_on(db, actor=TEST_ACTOR)
    make()
    savepoint = db.begin_nested()
    with pytest.raises(IntegrityError) as refused:
        make()
    savepoint.rollback()
    assert refused.value.orig.diag.constraint_name == name  # type: ignore[union-attr]
