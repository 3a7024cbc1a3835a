"""The make-up (振替) slot finder: for a student's credit, the coming times where a teacher
who teaches at the credit's branch, a room and the student are all free, ranked.

A slot is a candidate lesson of the absent lesson's length, at one of the branch's
periods (コマ), or where it has none, at the times its lessons started in the last 8
weeks. It is offered by the same verdict rules as every booking (`komawari.db.rules`):
the branch is open that day, and no live lesson overlaps it for the teacher, for the
student (their own lessons and the groups they attend, at any branch) or for the room.
It starts after now and on or before the credit's last day.

Ranked: the absent lesson's own teacher first, then the student's usual times (the same
weekday and start as one of their lessons of the last 8 weeks and the next 4), then
their usual weekdays, then the earliest. One slot a time: the best free teacher for it
(the absent lesson's own, else the one who taught the student most, then by name).
One statement, however many teachers and weeks.

A credit for a missed group lesson is made up in another group lesson: the slots are the
branch's live group lessons with a seat left (their capacity plus the make-up seats of the
branch's group policy), where the student is free; the missed lesson's own group first,
then its teacher, then the usual times. Booking one adds the student to that lesson
(`attendance.group_makeup.join`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any

from sqlalchemy import Row, select, text
from sqlalchemy.orm import Session

from komawari.attendance import policies, reports, sql
from komawari.attendance.models import Credit
from komawari.branches.models import Branch
from komawari.errors import InvalidInput
from komawari.scheduling import clock, timerules
from komawari.series.enums import SeriesKind
from komawari.sessions import sql as sessions_sql
from komawari.sessions.models import ClassSession
from komawari.words import say

MAX_WEEKS = 12
MAX_SLOTS = 100


@dataclass(frozen=True)
class Slot:
    """A time a make-up lesson could be booked, with its teacher and room, and why it
    ranks where it does."""

    date: date
    start_time: time
    end_time: time
    teacher_id: int
    teacher_name: str
    room_id: int | None
    room_name: str | None
    same_teacher: bool
    usual_time: bool
    usual_day: bool
    session_id: int | None = None  # a group lesson to join (None: a lesson to book)
    seats_left: int | None = None  # of that group lesson (None: no limit)
    same_group: bool = False


@dataclass(frozen=True)
class Found:
    """The credit the slots are for (None: the student has no usable credit), its absent
    lesson, the ranked slots, and every usable credit of the student (to choose another)."""

    credit: Credit | None
    absence: ClassSession | None
    slots: list[Slot]
    group: bool = False  # the absence was a group lesson: the slots are group lessons
    usable: list[Credit] = field(default_factory=list)


def usable(db: Session, student_id: int, branch_ids: list[int] | None) -> list[Credit]:
    """The student's credits that can be used now (earned at `branch_ids`; None: any):
    a positive balance and a last day not past at their branch (`reports.for_student`,
    the one definition), soonest expiry first."""
    ids = [c.id for c in reports.for_student(db, student_id, branch_ids).credits]
    rows = {c.id: c for c in db.scalars(select(Credit).where(Credit.id.in_(ids)))}
    return [rows[i] for i in ids]


def find(
    db: Session,
    student_id: int,
    *,
    weeks: int = 4,
    credit_id: int | None = None,
    branch_ids: list[int] | None = None,
    limit: int = 20,
) -> Found:
    """The ranked slots for the student's credit `credit_id` (default: the usable one that
    expires first), over the next `weeks` weeks from today at the credit's branch."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise InvalidInput(
            "weeks",
            say("makeup.weeks", "choose between 1 and %(most)s weeks", most=MAX_WEEKS),
        )
    if not 1 <= limit <= MAX_SLOTS:
        raise InvalidInput(
            "limit", say("makeup.limit", "choose between 1 and %(most)s slots", most=MAX_SLOTS)
        )
    choices = usable(db, student_id, branch_ids)
    if credit_id is None:
        credit = choices[0] if choices else None
    else:
        credit = next((c for c in choices if c.id == credit_id), None)
        if credit is None:
            raise InvalidInput(
                "credit_id",
                say(
                    "makeup.credit-not-usable",
                    "credit %(id)s is not one of this student's usable credits",
                    id=credit_id,
                ),
            )
    if credit is None:
        return Found(None, None, [], usable=choices)
    absence = db.get_one(ClassSession, credit.absence_session_id)
    zone = db.get_one(Branch, credit.branch_id).time_zone
    today = clock.branch_today(zone)
    last = min(today + timedelta(days=7 * weeks - 1), credit.expires_on)
    db.execute(text(sessions_sql.JIT_OFF))  # estimates of a candidate set: JIT costs seconds
    if absence.student_id is None:
        return Found(
            credit,
            absence,
            _group_slots(db, credit, absence, student_id, today, last, limit),
            group=True,
            usable=choices,
        )
    rows = db.execute(
        text(sql.SLOTS),
        {
            "absence": absence.id,
            "branch": credit.branch_id,
            "student": student_id,
            "first": today,
            "last": last,
            "now": timerules.now(),
            "limit": limit,
        },
    ).all()
    return Found(credit, absence, [_slot(r) for r in rows], usable=choices)


def _slot(r: Row[Any]) -> Slot:
    """A slot of SLOTS' or GROUP_SLOTS' row (the group lesson's fields where it has them)."""
    group = r._mapping
    return Slot(
        date=r.day,
        start_time=r.start_time,
        end_time=r.end_time,
        teacher_id=r.teacher_id,
        teacher_name=r.teacher_name,
        room_id=r.room_id,
        room_name=r.room_name,
        same_teacher=r.own,
        usual_time=r.usual_time,
        usual_day=r.usual_day,
        session_id=group.get("session_id"),
        seats_left=group.get("seats_left"),
        same_group=bool(group.get("same_group", False)),
    )


def makeup_seats(db: Session, branch_id: int) -> int:
    """The seats a group lesson of the branch offers for make-ups beyond its capacity (the
    branch's group policy in force now)."""
    return policies.current(db, branch_id)[SeriesKind.GROUP][0].makeup_seats


def _group_slots(
    db: Session,
    credit: Credit,
    absence: ClassSession,
    student_id: int,
    first: date,
    last: date,
    limit: int,
) -> list[Slot]:
    issued = policies.version(
        db, branch_id=credit.branch_id, kind=absence.kind, number=credit.policy_version
    )
    rows = db.execute(
        text(sql.GROUP_SLOTS),
        {
            "absence": absence.id,
            "branch": credit.branch_id,
            "student": student_id,
            "first": first,
            "last": last,
            "now": timerules.now(),
            "seats": makeup_seats(db, credit.branch_id),
            "same_length": issued.same_kind_and_length,
            "limit": limit,
        },
    ).all()
    return [_slot(r) for r in rows]
