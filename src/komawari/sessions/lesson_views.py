"""What a teacher's or a student's week and a single lesson's page show: live lessons with
their names, and a lesson's clashes from both sides (each hidden where the caller may not
read it), in a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import any_, literal, select
from sqlalchemy.orm import Session

from komawari.audit import service as audit
from komawari.auth import policy
from komawari.auth.policy import Principal
from komawari.branches.models import Branch
from komawari.people.models import Room, Student, Teacher
from komawari.sessions import queries
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from komawari.web import grid


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
