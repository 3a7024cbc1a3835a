"""What a teacher's or a student's week and a single lesson's page show: live lessons with
their names, and a lesson's clashes from both sides (each hidden where the caller may not
read it), in a constant number of queries. The lessons, their clashes and the audit's
re-evaluated lessons all come from `read_model`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from komawari.attendance import credits, teacher_absence
from komawari.audit import service as audit
from komawari.auth.policy import Principal
from komawari.branches import periods as branch_periods
from komawari.branches.models import Branch, BranchPeriod
from komawari.errors import NotFound
from komawari.people.models import Student, Teacher
from komawari.sessions import day_page, queries, read_model
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from komawari.web import grid
from komawari.words import say


class _Week:
    """A week from its Monday, with the Mondays before and after."""

    monday: date

    @property
    def previous(self) -> date:
        """Return the Monday before."""
        return self.monday - timedelta(days=7)

    @property
    def next(self) -> date:
        """Return the Monday after."""
        return self.monday + timedelta(days=7)


@dataclass
class WeekView(_Week):
    """A teacher's or a student's week (Monday to Sunday), ready to draw."""

    owner_kind: Literal["teacher", "student"]
    owner_id: int
    owner_name: str
    monday: date
    grid: grid.Grid
    count: int


WeekLesson = read_model.LessonCard
"""One lesson of a week or a lesson page, with the names it is shown by (redacted where
the viewer may not read it)."""


def week(
    db: Session,
    *,
    owner_kind: Literal["teacher", "student"],
    owner_id: int,
    day: date,
    branch_ids: list[int] | None,
    viewer: Principal | None = None,
) -> WeekView:
    """Return the week around `day` of a teacher's or a student's live lessons, each
    marked when it clashes from either side (the read model's cards)."""
    owner: Teacher | Student = (
        db.get_one(Teacher, owner_id) if owner_kind == "teacher" else db.get_one(Student, owner_id)
    )
    monday = day - timedelta(days=day.weekday())
    ids = [
        r.id
        for r in queries.search(
            db,
            branch_ids=branch_ids,
            date_from=monday,
            date_to=monday + timedelta(days=6),
            teacher_id=owner_id if owner_kind == "teacher" else None,
            student_id=owner_id if owner_kind == "student" else None,
            limit=1000,
        )
        if r.status != SessionStatus.CANCELLED
    ]
    found = read_model.lessons(db, ids, viewer=viewer, with_clashed_by=True)
    lessons = [found[i] for i in ids if i in found]
    columns = [grid.Column(monday + timedelta(days=i), "") for i in range(7)]
    blocks = [grid.Block(w.date, w.start_time, w.end_time, w) for w in lessons]
    return WeekView(
        owner_kind, owner_id, owner.name, monday, grid.build(columns, blocks), len(lessons)
    )


@dataclass
class BranchWeek(_Week):
    """A branch's week: a row per teacher with lessons, a column per day (Monday first),
    each cell the teacher's live lessons that day in time order."""

    branch: Branch
    monday: date
    days: list[tuple[date, str | None]]  # each day and its public holiday's name
    rows: list[tuple[int | None, str, list[list[WeekLesson]]]]  # teacher (or None), label
    count: int
    by: Literal["teacher", "period"] = "teacher"
    has_periods: bool = False


def branch_week(
    db: Session,
    branch: Branch,
    day: date,
    *,
    viewer: Principal | None,
    by: Literal["teacher", "period"] = "teacher",
) -> BranchWeek:
    """Return the week around `day` at `branch`: teachers (or, `by` "period", the branch's
    periods, then the lessons at other times) as rows, days as columns."""
    monday = day - timedelta(days=day.weekday())
    ids = [
        r.id
        for r in queries.search(
            db, branch_ids=[branch.id], date_from=monday, date_to=monday + timedelta(days=6),
            limit=10_000,
        )
        if r.status != SessionStatus.CANCELLED
    ]  # fmt: skip
    found = read_model.lessons(db, ids, viewer=viewer, with_clashed_by=True)
    lessons = [found[i] for i in ids if i in found]
    by_teacher: dict[int, tuple[str, list[list[WeekLesson]]]] = {}
    for lesson in lessons:
        empty: list[list[WeekLesson]] = [[] for _ in range(7)]
        _, cells = by_teacher.setdefault(lesson.teacher_id, (lesson.teacher_name, empty))
        cells[(lesson.date - monday).days].append(lesson)
    days = [monday + timedelta(days=i) for i in range(7)]
    koma = [p for p, _ in branch_periods.of(db, [branch.id])]
    rows: list[tuple[int | None, str, list[list[WeekLesson]]]] = sorted(
        ((tid, name, cells) for tid, (name, cells) in by_teacher.items()),
        key=lambda row: (row[1] or "", row[0] or 0),
    )
    if by == "period" and koma:
        rows = _period_rows(koma, lessons, monday)
    return BranchWeek(
        branch=branch,
        monday=monday,
        days=[(d, day_page.holiday_name(branch, d)) for d in days],
        rows=rows,
        count=len(lessons),
        by=by if koma else "teacher",
        has_periods=bool(koma),
    )


def _period_rows(
    koma: list[BranchPeriod], lessons: list[WeekLesson], monday: date
) -> list[tuple[int | None, str, list[list[WeekLesson]]]]:
    """A row per period (a lesson belongs to the period it starts in), then one for the
    lessons that start in none, if any."""
    ordered = sorted(koma, key=lambda p: p.start_time)
    labels = [f"{p.name} {p.start_time:%H:%M}\N{EN DASH}{p.end_time:%H:%M}" for p in ordered]
    cells: list[list[list[WeekLesson]]] = [[[] for _ in range(7)] for _ in range(len(ordered) + 1)]
    for lesson in sorted(lessons, key=lambda w: (w.date, w.start_time)):
        row = next(
            (i for i, p in enumerate(ordered) if p.start_time <= lesson.start_time < p.end_time),
            len(ordered),
        )
        cells[row][(lesson.date - monday).days].append(lesson)
    out: list[tuple[int | None, str, list[list[WeekLesson]]]] = [
        (None, label, row) for label, row in zip(labels, cells, strict=False)
    ]
    if any(cells[-1]):
        out.append((None, "", cells[-1]))
    return out


@dataclass(frozen=True)
class SessionView:
    """One lesson with its names, its clashes from both sides (ConflictRef fields, each
    redacted for the viewer), and what its last change did to other lessons."""

    lesson: WeekLesson
    branch_id: int
    teacher_id: int
    substitute_for_id: int | None
    room_id: int | None
    series_id: int | None
    note: str | None
    cancel_reason: str | None
    clashes_with: list[read_model.Ref]
    clashed_by: list[read_model.Ref]
    re_evaluated: list[tuple[WeekLesson, str]]
    makeup: bool = False  # a make-up (振替) lesson, booked with a credit
    makeup_for: WeekLesson | None = None  # the absent lesson, where the viewer may read it
    teacher_away: str | None = None  # its teacher cannot come: why ("" when no reason given)


def _away(db: Session, row: ClassSession) -> str | None:
    if row.status == SessionStatus.CANCELLED:
        return None
    found = teacher_absence.away(db, row)
    return None if found is None else (found.reason or "")


def session_view(db: Session, session_id: int, viewer: Principal | None = None) -> SessionView:
    """Return a lesson as its page shows it (NotFound when it does not exist)."""
    row = db.get(ClassSession, session_id)
    if row is None:
        raise NotFound(say("lesson.not-found", "there is no lesson number %(id)s", id=session_id))
    both = read_model.clashes(db, [(row.id, list(row.conflicts_with))], viewer=viewer)
    last = next(
        (
            e
            for e in audit.events(db, subject_type="session", subject_id=session_id, limit=5)
            if "re_evaluated" in e.details
        ),
        None,
    )
    details = read_model.audit_details(db, viewer, [last.details])[0] if last else {}
    changed = {int(k): str(v) for k, v in details.get("re_evaluated", {}).items()}
    changed.pop(session_id, None)
    absence = db.scalar(
        select(credits.makes_up()).select_from(ClassSession).where(ClassSession.id == row.id)
    )
    shown = [session_id, *changed, *([absence] if absence else [])]
    named = read_model.lessons(db, shown, viewer=viewer)
    missed = named.get(absence) if absence else None
    return SessionView(
        lesson=named[session_id],
        branch_id=row.branch_id,
        teacher_id=row.teacher_id,
        substitute_for_id=row.substitute_for_id,
        room_id=row.room_id,
        series_id=row.series_id,
        note=row.note,
        cancel_reason=row.cancel_reason,
        clashes_with=both.conflicts_with.get(row.id, []),
        clashed_by=both.clashed_by.get(row.id, []),
        re_evaluated=[
            (named[i], status)
            for i, status in changed.items()
            if i in named and not named[i].hidden
        ],
        makeup=absence is not None,
        teacher_away=_away(db, row),
        makeup_for=missed if missed and not missed.hidden else None,
    )
