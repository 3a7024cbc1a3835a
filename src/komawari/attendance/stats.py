"""A branch's month in numbers (集計): attendance rates per teacher and per group, and the
lessons (コマ) and hours each teacher taught, the base of teachers' pay (講師給).

A month is its dates at the branch (a lesson's `date` is already the branch's own day),
from the first to the last. The rules, each written once here:
- **Attendance** counts the marks of live lessons (a cancelled lesson is not counted),
  by state; the rate is present + late + left early over every mark but "cancelled by
  the school" (no such mark: no rate). A lesson without any mark is counted apart: "not
  taken" once it has ended, "to come" before.
- **Hours** count a lesson for the teacher who taught it (`teacher_id`): live lessons
  taught as their own, live lessons taught as a substitute (`substitute_for_id` set), and
  lessons cancelled (休講), each apart. A lesson's length is its span in time (`ends_at -
  starts_at`). A row cancelled as a duplicate of another is not a lesson: never counted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, func, select, type_coerce
from sqlalchemy.orm import Session

from komawari.attendance.enums import AttendanceState
from komawari.attendance.models import AttendanceMark
from komawari.people.models import Teacher
from komawari.scheduling import clock, timerules
from komawari.scheduling.values import check_day, printable
from komawari.series.enums import SeriesKind
from komawari.series.models import ClassSeries
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from komawari.words import InvalidValue, say

# The marks that count as attended, and those left out of the rate (the school called
# the lesson off for that student: nothing the student chose).
ATTENDED = frozenset({AttendanceState.PRESENT, AttendanceState.LATE, AttendanceState.LEFT_EARLY})
NOT_RATED = frozenset({AttendanceState.SCHOOL_CANCELLED})

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(value: object) -> date:
    """Read a month as YYYY-MM; return its first day, or raise ValueError naming it."""
    text = value.strip() if isinstance(value, str) else ""
    found = _MONTH.match(text)
    if found is None or not 1 <= int(found[2]) <= 12:
        raise InvalidValue(
            say(
                "month.not-a-month",
                "%(value)s is not a month as YYYY-MM (such as 2026-04)",
                value=printable(str(value)[:40]),
            )
        )
    return check_day(date(int(found[1]), int(found[2]), 1))


def next_month(first: date) -> date:
    """Return the first day of the month after the one `first` is in."""
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def previous_month(first: date) -> date:
    """Return the first day of the month before the one `first` is in."""
    return date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)


@dataclass(frozen=True)
class Tally:
    """Marks counted by state, and the lessons they belong to."""

    marks: Mapping[AttendanceState, int]  # every state, 0 where none
    lessons: int  # live lessons
    not_taken: int  # lessons that ended without any mark
    to_come: int  # lessons not yet ended, without any mark

    @property
    def attended(self) -> int:
        """Marks present, late or left early."""
        return sum(n for state, n in self.marks.items() if state in ATTENDED)

    @property
    def rated(self) -> int:
        """Marks the rate is taken over: all but "cancelled by the school"."""
        return sum(n for state, n in self.marks.items() if state not in NOT_RATED)

    @property
    def rate(self) -> float | None:
        """Attended over rated marks (0 to 1); None without a rated mark."""
        return self.attended / self.rated if self.rated else None


@dataclass(frozen=True)
class TeacherAttendance:
    """The marks of the lessons one teacher taught."""

    teacher_id: int
    teacher_name: str
    tally: Tally


@dataclass(frozen=True)
class GroupAttendance:
    """The marks of one group's lessons (a series, or one-off group lessons by title)."""

    series_id: int | None
    title: str
    tally: Tally


@dataclass(frozen=True)
class AttendanceReport:
    """A branch's attendance in a month: per teacher, per group, and in all."""

    month: date  # its first day
    teachers: list[TeacherAttendance]
    groups: list[GroupAttendance]
    total: Tally


@dataclass(frozen=True)
class Taught:
    """Lessons and their minutes."""

    lessons: int
    minutes: int

    @property
    def hours(self) -> float:
        """The minutes as hours, to the hundredth."""
        return round(self.minutes / 60, 2)


@dataclass(frozen=True)
class TeacherHours:
    """What one teacher taught in the month: their own lessons, as a substitute, and the
    lessons of theirs cancelled (休講)."""

    teacher_id: int
    teacher_name: str
    own: Taught
    substitute: Taught
    cancelled: Taught

    @property
    def taught(self) -> Taught:
        """Every live lesson the teacher taught, their own and as a substitute."""
        return Taught(
            self.own.lessons + self.substitute.lessons, self.own.minutes + self.substitute.minutes
        )


@dataclass(frozen=True)
class HoursReport:
    """A branch's teacher hours in a month, per teacher by name."""

    month: date
    teachers: list[TeacherHours]

    @property
    def total(self) -> TeacherHours:
        """The sums of every teacher's counts (teacher 0, no name)."""

        def add(part: str) -> Taught:
            got = [getattr(t, part) for t in self.teachers]
            return Taught(sum(g.lessons for g in got), sum(g.minutes for g in got))

        return TeacherHours(0, "", add("own"), add("substitute"), add("cancelled"))


def _in_month(branch_id: int, month: date) -> list[ColumnElement[bool]]:
    """The month's rows of the branch that are lessons (not a duplicate's cancelled row)."""
    return [
        ClassSession.branch_id == branch_id,
        ClassSession.date >= month,
        ClassSession.date < next_month(month),
        ClassSession.duplicate_of_id.is_(None),
    ]


_LIVE = ClassSession.status != SessionStatus.CANCELLED


def _tally_columns(now: datetime) -> list[Any]:
    """The aggregates of a tally over lessons left-joined to their marks (a lesson without
    marks is one row whose mark is NULL)."""
    unmarked = AttendanceMark.id.is_(None)
    ended = ClassSession.ends_at <= now
    return [
        *(
            func.count(AttendanceMark.id).filter(AttendanceMark.state == state).label(state.value)
            for state in AttendanceState
        ),
        func.count(ClassSession.id.distinct()).label("lessons"),
        func.count(ClassSession.id.distinct()).filter(unmarked, ended).label("not_taken"),
        func.count(ClassSession.id.distinct()).filter(unmarked, ~ended).label("to_come"),
    ]


def _tally(row: Any) -> Tally:
    mapping = row._mapping
    return Tally(
        marks={state: int(mapping[state.value]) for state in AttendanceState},
        lessons=int(mapping["lessons"]),
        not_taken=int(mapping["not_taken"]),
        to_come=int(mapping["to_come"]),
    )


def attendance(
    db: Session, branch_id: int, *, month: date, now: datetime | None = None
) -> AttendanceReport:
    """Attendance at the branch in the month (`month`: its first day) per teacher and per
    group, and in all; `now` (default: the clock) tells ended lessons from those to come."""
    columns = _tally_columns(now or timerules.now())
    lessons = (
        select()
        .select_from(ClassSession)
        .outerjoin(AttendanceMark, AttendanceMark.session_id == ClassSession.id)
        .where(*_in_month(branch_id, month), _LIVE)
    )
    per_teacher = db.execute(
        lessons.add_columns(Teacher.id, Teacher.name, *columns)
        .join(Teacher, Teacher.id == ClassSession.teacher_id)
        .group_by(Teacher.id)
        .order_by(Teacher.name, Teacher.id)
    ).all()
    title = func.coalesce(ClassSeries.title, ClassSession.title)  # a group always has one
    per_group = db.execute(
        lessons.add_columns(ClassSession.series_id, title.label("title"), *columns)
        .outerjoin(ClassSeries, ClassSeries.id == ClassSession.series_id)
        .where(ClassSession.kind == SeriesKind.GROUP)
        .group_by(ClassSession.series_id, title)
        .order_by(title, ClassSession.series_id)
    ).all()
    total = db.execute(lessons.add_columns(*columns)).one()
    return AttendanceReport(
        month=month,
        teachers=[TeacherAttendance(r.id, r.name, _tally(r)) for r in per_teacher],
        groups=[GroupAttendance(r.series_id, r.title or "", _tally(r)) for r in per_group],
        total=_tally(total),
    )


def hours(db: Session, branch_id: int, *, month: date) -> HoursReport:
    """The lessons and hours each teacher taught at the branch in the month (`month`: its
    first day): their own and as a substitute, live; and their lessons cancelled."""
    seconds = func.extract("epoch", ClassSession.ends_at - ClassSession.starts_at)
    minutes = type_coerce(func.round(seconds / 60), Integer)
    own = _LIVE & ClassSession.substitute_for_id.is_(None)
    substitute = _LIVE & ClassSession.substitute_for_id.is_not(None)
    cancelled = ClassSession.status == SessionStatus.CANCELLED
    parts: Sequence[tuple[str, ColumnElement[bool]]] = (
        ("own", own),
        ("substitute", substitute),
        ("cancelled", cancelled),
    )
    rows = db.execute(
        select(
            Teacher.id,
            Teacher.name,
            *(
                column
                for name, where in parts
                for column in (
                    func.count().filter(where).label(f"{name}_lessons"),
                    func.coalesce(func.sum(minutes).filter(where), 0).label(f"{name}_minutes"),
                )
            ),
        )
        .select_from(ClassSession)
        .join(Teacher, Teacher.id == ClassSession.teacher_id)
        .where(*_in_month(branch_id, month))
        .group_by(Teacher.id)
        .order_by(Teacher.name, Teacher.id)
    ).all()

    def taught(row: Any, name: str) -> Taught:
        mapping = row._mapping
        return Taught(int(mapping[f"{name}_lessons"]), int(mapping[f"{name}_minutes"]))

    teachers = [TeacherHours(r.id, r.name, *(taught(r, name) for name, _ in parts)) for r in rows]
    return HoursReport(month=month, teachers=teachers)


def this_month(zone_name: str) -> date:
    """Return the first day of today's month at a branch in zone `zone_name`."""
    return clock.branch_today(zone_name).replace(day=1)
