"""A cancelled lesson never blocks a one-off booking, a move or a re-evaluation.

Each case books a lesson, cancels it (or, as the control, keeps it), then books a lesson
that overlaps it through one resource: the teacher (in one zone and across zones), the
room, the private student, a group attendee on either side. Re-evaluating everything
afterwards changes nothing, and a cancelled lesson stays cancelled.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from komawari.sessions import reevaluate
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from tests import factories as f
from tests.factories import bookings as bk
from tests.sessions.verdicts import assert_verdicts_follow_the_rule

PATHS = ["teacher", "teacher-across-zones", "room", "student", "attendee", "attendee-of-new"]


def _old_and_new(db: Session, path: str) -> tuple[dict[str, object], dict[str, object]]:
    """Return the would-be blocker's fields and the new booking's, sharing one resource."""
    b, t, s = f.branch(db), f.teacher(db), f.student(db)
    old: dict[str, object] = {"branch_id": b.id, "teacher_id": f.teacher(db).id}
    new: dict[str, object] = {"branch_id": b.id, "start_time": "18:30", "end_time": "19:30"}
    new |= {"teacher_id": t.id, "student_id": s.id}
    old["student_id"] = f.student(db).id
    if path == "teacher":
        old["teacher_id"] = t.id
    elif path == "teacher-across-zones":
        # Thursday 00:30 at UTC+14 is Tuesday 23:00 at UTC-11.
        east, west = (
            f.branch(db, time_zone=z) for z in ("Pacific/Kiritimati", "Pacific/Pago_Pago")
        )
        old |= {
            "branch_id": east.id,
            "teacher_id": t.id,
            "start_time": "00:30",
            "end_time": "01:30",
        }
        new |= {
            "branch_id": west.id,
            "date": "2026-12-01",
            "start_time": "23:00",
            "end_time": "23:45",
        }
    elif path == "room":
        old["room_id"] = new["room_id"] = f.room(db, b).id
    elif path == "student":
        old["student_id"] = s.id
    elif path == "attendee":
        del old["student_id"]
        old["student_ids"] = [s.id, f.student(db).id]
    else:
        del new["student_id"]
        new["student_ids"] = [f.student(db).id, old["student_id"]]
    return old, new


@pytest.mark.parametrize("path", PATHS)
def test_a_cancelled_lesson_never_blocks_a_new_booking(db: Session, path: str) -> None:
    old, new = _old_and_new(db, path)
    blocker = bk.one_off(db, **old)
    bk.cancel(db, blocker.id)
    made = bk.one_off(db, **new)
    assert (made.status, made.conflicts_with) == (SessionStatus.CONFIRMED, [])
    assert reevaluate.evaluate_all(db) == 0
    db.refresh(blocker)
    assert blocker.status == SessionStatus.CANCELLED
    assert_verdicts_follow_the_rule(bk.seen_by_rule(db))  # type: ignore[arg-type]


@pytest.mark.parametrize("path", PATHS)
def test_the_same_lesson_live_blocks_the_new_booking(db: Session, path: str) -> None:
    old, new = _old_and_new(db, path)
    blocker = bk.one_off(db, **old)
    made = bk.one_off(db, **new)
    assert (made.status, made.conflicts_with) == (SessionStatus.CONFLICTED, [blocker.id])
    assert_verdicts_follow_the_rule(bk.seen_by_rule(db))  # type: ignore[arg-type]


@pytest.mark.parametrize("path", PATHS)
def test_a_lesson_moved_next_to_a_cancelled_one_stays_confirmed(db: Session, path: str) -> None:
    old, new = _old_and_new(db, path)
    blocker = bk.one_off(db, **old)
    bk.cancel(db, blocker.id)
    made = bk.one_off(db, **{**new, "start_time": "06:00", "end_time": "07:00"})
    bk.move(db, made.id, start_time=new["start_time"], end_time=new["end_time"])
    db.refresh(made)
    assert (made.status, made.conflicts_with) == (SessionStatus.CONFIRMED, [])


def test_lessons_touching_end_to_start_do_not_block(db: Session) -> None:
    b, t = f.branch(db), f.teacher(db)
    room = f.room(db, b).id
    shared = {"branch_id": b.id, "teacher_id": t.id, "room_id": room}
    bk.one_off(db, **shared, student_id=f.student(db).id, start_time="17:30", end_time="18:30")
    made = bk.one_off(
        db, **shared, student_id=f.student(db).id, start_time="18:30", end_time="19:30"
    )
    assert made.status == SessionStatus.CONFIRMED


def test_blockers_are_named_in_booking_order(db: Session) -> None:
    b, t, s = f.branch(db), f.teacher(db), f.student(db)
    room = f.room(db, b).id
    other = {"branch_id": b.id, "start_time": "18:15"}
    first = bk.one_off(db, **other, teacher_id=t.id, student_id=f.student(db).id).id
    second = bk.one_off(
        db, **other, teacher_id=f.teacher(db).id, student_id=f.student(db).id, room_id=room
    ).id
    third = bk.one_off(db, **other, teacher_id=f.teacher(db).id, student_id=s.id).id
    made = bk.one_off(db, branch_id=b.id, teacher_id=t.id, student_id=s.id, room_id=room)
    assert made.conflicts_with == [first, second, third]


def test_re_evaluating_everything_keeps_cancelled_lessons_cancelled(db: Session) -> None:
    b, t = f.branch(db), f.teacher(db)
    kept = bk.one_off(db, branch_id=b.id, teacher_id=t.id, student_id=f.student(db).id)
    gone = bk.one_off(db, branch_id=b.id, teacher_id=t.id, student_id=f.student(db).id)
    bk.cancel(db, gone.id)
    assert reevaluate.evaluate_all(db) == 0
    rows = {r.id: r.status for r in db.query(ClassSession).populate_existing()}
    assert rows == {kept.id: SessionStatus.CONFIRMED, gone.id: SessionStatus.CANCELLED}
