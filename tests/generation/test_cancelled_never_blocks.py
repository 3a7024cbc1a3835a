"""A cancelled lesson never blocks a lesson that generation makes, on every path.

Each case books a lesson, cancels it (or, as the control, keeps it), then generates a
series that overlaps it through one resource: the teacher (in one zone and across zones),
the room, the private student, a group attendee (read student by student, and in one pass
for a big batch). Cancelled, it must leave the new lessons CONFIRMED; live, it blocks them.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from komawari.sessions.enums import SessionStatus
from tests import factories as f
from tests.factories import bookings as bk
from tests.sessions.verdicts import assert_verdicts_follow_the_rule

PATHS = ["teacher", "teacher-across-zones", "room", "student", "attendee", "attendee-big-batch"]


def _blocker_and_series(db: Session, path: str) -> tuple[int, int, int]:
    """Book the would-be blocker and create the series; return (blocker, series, horizon)."""
    b, t, s = f.branch(db), f.teacher(db), f.student(db)
    new: dict[str, object] = {"branch_id": b.id, "start_time": "18:30", "end_time": "19:30"}
    old: dict[str, object] = {"branch_id": b.id}
    horizon = 8
    if path == "teacher":
        old |= {"teacher_id": t.id, "student_id": f.student(db).id}
        new |= {"teacher_id": t.id, "student_id": s.id}
    elif path == "teacher-across-zones":
        # Thursday 00:30 at UTC+14 and Tuesday 23:00 at UTC-11 are the same instant.
        east, west = (
            f.branch(db, time_zone="Pacific/Kiritimati"),
            f.branch(db, time_zone="Pacific/Pago_Pago"),
        )
        old |= {"branch_id": east.id, "teacher_id": t.id, "student_id": f.student(db).id}
        old |= {"start_time": "00:30", "end_time": "01:30"}
        new |= {"branch_id": west.id, "teacher_id": t.id, "student_id": s.id}
        new |= {"weekdays": ["tue"], "start_time": "23:00", "end_time": "23:45"}
    elif path == "room":
        room = f.room(db, b).id
        old |= {"teacher_id": f.teacher(db).id, "student_id": f.student(db).id, "room_id": room}
        new |= {"teacher_id": t.id, "student_id": s.id, "room_id": room}
    elif path == "student":
        old |= {"teacher_id": f.teacher(db).id, "student_id": s.id}
        new |= {"teacher_id": t.id, "student_id": s.id}
    else:
        old |= {"teacher_id": f.teacher(db).id, "student_ids": [s.id, f.student(db).id]}
        others = [f.student(db).id for _ in range(7)]
        new |= {"teacher_id": t.id, "student_ids": [s.id, *others]}
        if path == "attendee-big-batch":  # over SMALL_BATCH (row, student) pairs
            horizon = 84
            new |= {"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
    blocker = bk.one_off(db, **old).id
    return blocker, bk.series(db, **new), horizon


@pytest.mark.parametrize("path", PATHS)
def test_a_cancelled_lesson_never_blocks_a_generated_one(db: Session, path: str) -> None:
    blocker, series_id, horizon = _blocker_and_series(db, path)
    bk.cancel(db, blocker)
    bk.generate(db, horizon_days=horizon)
    made = bk.made_by(db, series_id)
    assert made
    assert all(s.status == SessionStatus.CONFIRMED for s in made), path
    assert all(s.conflicts_with == [] for s in made), path
    assert_verdicts_follow_the_rule(bk.seen_by_rule(db))  # type: ignore[arg-type]


@pytest.mark.parametrize("path", PATHS)
def test_the_same_lesson_live_blocks_the_generated_one(db: Session, path: str) -> None:
    blocker, series_id, horizon = _blocker_and_series(db, path)
    bk.generate(db, horizon_days=horizon)
    blocked = [s for s in bk.made_by(db, series_id) if s.status == SessionStatus.CONFLICTED]
    assert [s.conflicts_with for s in blocked] == [[blocker]], path
    assert_verdicts_follow_the_rule(bk.seen_by_rule(db))  # type: ignore[arg-type]


def test_a_lesson_touching_end_to_start_never_blocks_a_generated_one(db: Session) -> None:
    b, t = f.branch(db), f.teacher(db)
    room = f.room(db, b).id
    shared = {"branch_id": b.id, "teacher_id": t.id, "room_id": room}
    bk.one_off(db, **shared, student_id=f.student(db).id, start_time="17:30", end_time="18:30")
    made = bk.series(
        db, **shared, student_id=f.student(db).id, start_time="18:30", end_time="19:30"
    )
    bk.generate(db)
    assert [s.status for s in bk.made_by(db, made)] == [SessionStatus.CONFIRMED]


def test_blockers_are_named_in_booking_order(db: Session) -> None:
    b, t, s = f.branch(db), f.teacher(db), f.student(db)
    room = f.room(db, b).id
    first = bk.one_off(db, branch_id=b.id, teacher_id=t.id, student_id=f.student(db).id).id
    second = bk.one_off(
        db, branch_id=b.id, teacher_id=f.teacher(db).id, student_id=f.student(db).id, room_id=room
    ).id
    third = bk.one_off(db, branch_id=b.id, teacher_id=f.teacher(db).id, student_id=s.id).id
    made = bk.series(
        db,
        branch_id=b.id,
        teacher_id=t.id,
        student_id=s.id,
        room_id=room,
        start_time="18:30",
        end_time="19:30",
    )
    bk.generate(db)
    assert [s.conflicts_with for s in bk.made_by(db, made)] == [[first, second, third]]


def _two_series_sharing(db: Session, resource: str, *, touching: bool) -> tuple[int, int]:
    b = f.branch(db)
    one = {"branch_id": b.id, "teacher_id": f.teacher(db).id, "student_id": f.student(db).id}
    two = {"branch_id": b.id, "teacher_id": f.teacher(db).id, "student_id": f.student(db).id}
    if resource == "teacher":
        two["teacher_id"] = one["teacher_id"]
    elif resource == "room":
        one["room_id"] = two["room_id"] = f.room(db, b).id
    elif resource == "student":
        two["student_id"] = one["student_id"]
    else:  # a group attendee of the second is the first's private student
        two = {"branch_id": b.id, "teacher_id": two["teacher_id"]}
        two["student_ids"] = [one["student_id"], f.student(db).id]
    start, end = ("19:00", "20:00") if touching else ("18:30", "19:30")
    first = bk.series(db, **one, start_time="18:00", end_time="19:00")
    return first, bk.series(db, **two, start_time=start, end_time=end)


@pytest.mark.parametrize("resource", ["teacher", "room", "student", "attendee"])
def test_in_one_batch_the_earlier_new_lesson_blocks_the_later(db: Session, resource: str) -> None:
    first, second = _two_series_sharing(db, resource, touching=False)
    bk.generate(db)
    (one,), (two,) = bk.made_by(db, first), bk.made_by(db, second)
    assert (one.status, one.conflicts_with) == (SessionStatus.CONFIRMED, [])
    assert (two.status, two.conflicts_with) == (SessionStatus.CONFLICTED, [one.id])


@pytest.mark.parametrize("resource", ["teacher", "room", "student", "attendee"])
def test_in_one_batch_lessons_touching_end_to_start_do_not_block(
    db: Session, resource: str
) -> None:
    first, second = _two_series_sharing(db, resource, touching=True)
    bk.generate(db)
    made = bk.made_by(db, first) + bk.made_by(db, second)
    assert [s.status for s in made] == [SessionStatus.CONFIRMED] * 2
