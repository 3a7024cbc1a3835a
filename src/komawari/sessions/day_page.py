"""What the day and week pages show, built from the same schedule as the API.

The branch's day comes from `queries.branch_day` (the JSON schedule's own query); this
module adds what a person needs beside it in a constant number of queries: group sizes
and capacities, the clash partners seen from the earlier-booked side, the day's closure
or public holiday, and the grid the lessons are drawn on.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import any_, literal, select
from sqlalchemy.orm import Session

from komawari.audit import service as audit
from komawari.auth import policy
from komawari.auth.policy import Principal
from komawari.branches.models import Branch, BranchClosure
from komawari.people.models import Room, Student, Teacher
from komawari.series.models import ClassSeries
from komawari.sessions import queries
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from komawari.web import grid

Layout = Literal["teacher", "room"]


@dataclass
class Lesson:
    """One lesson block: the schedule entry and what is drawn beside it."""

    entry: Any
    teacher_id: int
    teacher_name: str
    attendees: int
    capacity: int | None
    clashed_by: list[Any] = field(default_factory=list)

    @property
    def clashes(self) -> bool:
        """Tell whether this lesson takes part in a clash, from either side."""
        return bool(self.entry.conflicts_with or self.clashed_by)


@dataclass
class DayView:
    """The day at a branch, ready to draw."""

    branch: Branch
    day: date
    layout: Layout
    show_cancelled: bool
    counts: Any
    grid: grid.Grid
    lessons: list[Lesson]
    cancelled_hidden: int
    closure: str | None
    holiday: str | None

    @property
    def previous(self) -> date:
        """Return the day before."""
        return self.day - timedelta(days=1)

    @property
    def next(self) -> date:
        """Return the day after."""
        return self.day + timedelta(days=1)


def holiday_name(branch: Branch, day: date) -> str | None:
    """Return the name of the public holiday on `day` (Japan's, for branches there)."""
    if branch.time_zone not in ("Asia/Tokyo", "Japan"):
        return None
    import jpholiday

    name = jpholiday.is_holiday_name(day)
    return str(name) if name else None


def branch_day(
    session: Session,
    *,
    branch_id: int,
    day: date,
    layout: Layout,
    show_cancelled: bool,
    viewer: Principal | None = None,
) -> DayView:
    """Return the day at a branch as the page draws it."""
    schedule = queries.branch_day(session, branch_id=branch_id, day=day, viewer=viewer)
    branch = session.get_one(Branch, branch_id)
    entries = [(t, e) for t in schedule.teachers for e in t.sessions]
    capacities = dict(
        session.execute(
            select(ClassSeries.id, ClassSeries.capacity).where(
                ClassSeries.id.in_({e.series_id for _, e in entries if e.series_id})
            )
        ).all()
    )
    lessons = [
        Lesson(
            e,
            t.teacher_id,
            t.teacher_name,
            len(e.student_ids),
            capacities.get(e.series_id) if e.series_id else None,
        )
        for t, e in entries
    ]
    by_id = {lesson.entry.id: lesson for lesson in lessons}
    for lesson in lessons:  # the earlier-booked partner shows the clash too
        for ref in lesson.entry.conflicts_with:
            partner = by_id.get(ref.session_id)
            if partner is not None:
                partner.clashed_by.append(lesson.entry)
    shown = [
        lesson
        for lesson in lessons
        if show_cancelled or lesson.entry.status != SessionStatus.CANCELLED
    ]
    columns: list[grid.Column]
    if layout == "room":
        rooms = session.execute(
            select(Room.id, Room.name).where(Room.branch_id == branch_id).order_by(Room.name)
        ).all()
        columns = [grid.Column(room_id, name) for room_id, name in rooms]
        columns.append(grid.Column(None, ""))
        key: Any = lambda lesson: lesson.entry.room_id  # noqa: E731
    else:
        columns = [
            grid.Column(t.teacher_id, t.teacher_name, f"/teachers/{t.teacher_id}/week?date={day}")
            for t in schedule.teachers
        ]
        key = lambda lesson: lesson.teacher_id  # noqa: E731
    blocks = [
        grid.Block(key(lesson), lesson.entry.start_time, lesson.entry.end_time, lesson)
        for lesson in shown
    ]
    closure = session.scalar(
        select(BranchClosure.reason).where(
            BranchClosure.branch_id == branch_id, BranchClosure.date == day
        )
    )
    return DayView(
        branch=branch,
        day=day,
        layout=layout,
        show_cancelled=show_cancelled,
        counts=schedule.counts,
        grid=grid.build(columns, blocks),
        lessons=lessons,
        cancelled_hidden=len(lessons) - len(shown),
        closure=closure,
        holiday=holiday_name(branch, day),
    )


@dataclass
class WeekView:
    """A teacher's or a student's week (Monday to Sunday), ready to draw."""

    owner_kind: Literal["teacher", "student"]
    owner_id: int
    owner_name: str
    monday: date
    grid: grid.Grid
    count: int

    @property
    def previous(self) -> date:
        """Return the Monday before."""
        return self.monday - timedelta(days=7)

    @property
    def next(self) -> date:
        """Return the Monday after."""
        return self.monday + timedelta(days=7)


@dataclass(frozen=True)
class WeekLesson:
    """One live lesson of a week, with the names it is shown by."""

    id: int
    date: date
    start_time: Any
    end_time: Any
    status: SessionStatus
    title: str | None
    branch_name: str
    teacher_name: str
    student_name: str | None
    room_name: str | None
    conflicts: int
    branch_id: int = 0
    teacher_id: int = 0
    hidden: bool = False


def week(
    session: Session,
    *,
    owner_kind: Literal["teacher", "student"],
    owner_id: int,
    day: date,
    branch_ids: list[int] | None,
) -> WeekView:
    """Return the week around `day` of a teacher's or a student's live lessons."""
    owner: Teacher | Student = (
        session.get_one(Teacher, owner_id)
        if owner_kind == "teacher"
        else session.get_one(Student, owner_id)
    )
    monday = day - timedelta(days=day.weekday())
    ids = [
        r.id
        for r in queries.search(
            session,
            branch_ids=branch_ids,
            date_from=monday,
            date_to=monday + timedelta(days=6),
            teacher_id=owner_id if owner_kind == "teacher" else None,
            student_id=owner_id if owner_kind == "student" else None,
            limit=1000,
        )
        if r.status != SessionStatus.CANCELLED
    ]
    lessons = list(_lessons(session, ids).values())
    columns = [grid.Column(monday + timedelta(days=i), "") for i in range(7)]
    blocks = [grid.Block(w.date, w.start_time, w.end_time, w) for w in lessons]
    return WeekView(
        owner_kind, owner_id, owner.name, monday, grid.build(columns, blocks), len(lessons)
    )


@dataclass(frozen=True)
class SessionView:
    """One lesson with its names, its clashes from both sides, and its last changes."""

    lesson: WeekLesson
    branch_id: int
    teacher_id: int
    cancel_reason: str | None
    clashes_with: list[WeekLesson]
    clashed_by: list[WeekLesson]
    re_evaluated: list[tuple[WeekLesson, str]]


def _lessons(session: Session, ids: list[int]) -> dict[int, WeekLesson]:
    rows = session.execute(
        select(
            ClassSession.id,
            ClassSession.date,
            ClassSession.start_time,
            ClassSession.end_time,
            ClassSession.status,
            ClassSession.title,
            Branch.name,
            Teacher.name,
            Student.name,
            Room.name,
            ClassSession.conflicts_with,
            ClassSession.branch_id,
            ClassSession.teacher_id,
        )
        .join(Branch, Branch.id == ClassSession.branch_id)
        .join(Teacher, Teacher.id == ClassSession.teacher_id)
        .outerjoin(Student, Student.id == ClassSession.student_id)
        .outerjoin(Room, Room.id == ClassSession.room_id)
        .where(ClassSession.id.in_(ids))
    ).all()
    return {
        r[0]: WeekLesson(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            r[8],
            r[9],
            conflicts=len(r[10] or []),
            branch_id=r[11],
            teacher_id=r[12],
        )
        for r in rows
    }


def _shown_to(viewer: Principal | None, lesson: WeekLesson) -> WeekLesson:
    """Return the lesson, or only its times when `viewer` may not read it."""
    if viewer is None or policy.may_read_session(
        viewer, branch_id=lesson.branch_id, teacher_id=lesson.teacher_id
    ):
        return lesson
    return replace(
        lesson,
        id=0,
        title=None,
        branch_name="",
        teacher_name="",
        student_name=None,
        room_name=None,
        branch_id=0,
        teacher_id=0,
        hidden=True,
    )


def session_view(session: Session, session_id: int, viewer: Principal | None = None) -> SessionView:
    """Return a lesson as its page shows it (NotFound when it does not exist)."""
    row = session.get(ClassSession, session_id)
    if row is None:
        from komawari.errors import NotFound

        raise NotFound(f"session {session_id} does not exist")
    blocked = list(
        session.scalars(
            select(ClassSession.id).where(
                ClassSession.date.between(
                    row.date - timedelta(days=2), row.date + timedelta(days=2)
                ),
                literal(session_id) == any_(ClassSession.conflicts_with),
            )
        )
    )
    last = next(
        (
            e
            for e in audit.events(session, subject_type="session", subject_id=session_id, limit=5)
            if "re_evaluated" in e.details
        ),
        None,
    )
    changed = {int(k): str(v) for k, v in (last.details["re_evaluated"] if last else {}).items()}
    changed.pop(session_id, None)
    found = _lessons(session, [session_id, *row.conflicts_with, *blocked, *changed])
    named = {i: _shown_to(viewer, lesson) for i, lesson in found.items()}
    return SessionView(
        lesson=named[session_id],
        branch_id=row.branch_id,
        teacher_id=row.teacher_id,
        cancel_reason=row.cancel_reason,
        clashes_with=[named[i] for i in row.conflicts_with if i in named],
        clashed_by=[named[i] for i in blocked if i in named],
        re_evaluated=[
            (named[i], status)
            for i, status in changed.items()
            if i in named and not named[i].hidden
        ],
    )
