"""What the day page shows, built from the same schedule as the API.

The branch's day comes from `queries.branch_day` (the JSON schedule's own query, with both
sides of every clash from `read_model`, redacted for the viewer); this module adds what a
person needs beside it in a constant number of queries: group sizes and capacities, the
day's closure or public holiday, and the grid the lessons are drawn on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from komawari.auth.policy import Principal
from komawari.branches import periods as branch_periods
from komawari.branches.models import Branch, BranchClosure
from komawari.people.models import Room
from komawari.series.models import ClassSeries
from komawari.sessions import queries
from komawari.sessions.enums import SessionStatus
from komawari.sessions.schemas import ConflictRef
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
    clashed_by: list[ConflictRef] = field(default_factory=list)

    @property
    def clashes(self) -> bool:
        """Tell whether this lesson takes part in a clash, from either side."""
        return bool(self.entry.conflicts_with or self.clashed_by)


PRINT_COLUMNS = 8  # a printed A4 landscape sheet holds at most this many columns
Sheet = grid.Grid  # one printed sheet of the day


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
    print_pages: list[Sheet] = field(default_factory=list)  # the printable view's sheets
    # The branch's periods (コマ): (name, start, end); when it has some, they are the
    # grid's rows (labels and booking cells), the hours only faint lines.
    periods: list[tuple[str, time, time]] = field(default_factory=list)

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
    db: Session,
    *,
    branch_id: int,
    day: date,
    layout: Layout,
    show_cancelled: bool,
    viewer: Principal | None = None,
    printing: bool = False,
) -> DayView:
    """Return the day at a branch as the page draws it (`printing`: as sheets of at most
    PRINT_COLUMNS columns, each with the hours)."""
    schedule = queries.branch_day(db, branch_id=branch_id, day=day, viewer=viewer)
    branch = db.get_one(Branch, branch_id)
    entries = [(t, e) for t in schedule.teachers for e in t.sessions]
    capacities = dict(
        db.execute(
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
            # The earlier-booked side shows the clash too: every later booking that names
            # it, at any branch and on any day (the read model's), redacted for the viewer.
            list(e.clashed_by),
        )
        for t, e in entries
    ]
    shown = [
        lesson
        for lesson in lessons
        if show_cancelled or lesson.entry.status != SessionStatus.CANCELLED
    ]
    columns: list[grid.Column]
    if layout == "room":
        rooms = db.execute(
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
    closure = db.scalar(
        select(BranchClosure.reason).where(
            BranchClosure.branch_id == branch_id, BranchClosure.date == day
        )
    )
    koma = [(p.name, p.start_time, p.end_time) for p, _ in branch_periods.of(db, [branch_id])]
    span = grid.span(blocks, koma)
    return DayView(
        branch=branch,
        day=day,
        layout=layout,
        show_cancelled=show_cancelled,
        counts=schedule.counts,
        grid=grid.build(columns, blocks, span),
        print_pages=(
            grid.pages(columns, blocks, per_page=PRINT_COLUMNS, span=span) if printing else []
        ),
        periods=koma,
        lessons=lessons,
        cancelled_hidden=len(lessons) - len(shown),
        closure=closure,
        holiday=holiday_name(branch, day),
    )
