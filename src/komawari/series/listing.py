"""Series as people read them: with names instead of ids, for the pages' lists and forms."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased

from komawari.audit import service as audit
from komawari.audit.models import AuditEvent
from komawari.branches import periods as branch_periods
from komawari.branches.models import Branch
from komawari.people.models import Room, Student, Teacher
from komawari.scheduling.weekdays import from_mask
from komawari.series.enums import SeriesKind, SeriesStatus
from komawari.series.models import ClassSeries, SeriesEnrolment, SeriesPauseRecord
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession


@dataclass(frozen=True)
class SeriesRow:
    """One series with the names it is shown by."""

    id: int
    branch_id: int
    branch_name: str
    teacher_id: int
    teacher_name: str
    kind: SeriesKind
    student_id: int | None
    party: str
    room_name: str | None
    weekdays: tuple[int, ...]
    start_time: time
    end_time: time
    first_date: date
    last_date: date | None
    interval_weeks: int
    status: SeriesStatus
    status_reason: str | None


def _query() -> Select[ClassSeries, str, str, str, str]:
    st = aliased(Student)
    return (
        select(ClassSeries, Branch.name, Teacher.name, st.name, Room.name)
        .join(Branch, Branch.id == ClassSeries.branch_id)
        .join(Teacher, Teacher.id == ClassSeries.teacher_id)
        .outerjoin(st, st.id == ClassSeries.student_id)
        .outerjoin(Room, Room.id == ClassSeries.room_id)
    )


def _row(
    s: ClassSeries, branch: str, teacher: str, student: str | None, room: str | None
) -> SeriesRow:
    return SeriesRow(
        id=s.id,
        branch_id=s.branch_id,
        branch_name=branch,
        teacher_id=s.teacher_id,
        teacher_name=teacher,
        kind=s.kind,
        student_id=s.student_id,
        party=student or s.title or "",
        room_name=room,
        weekdays=tuple(from_mask(s.weekdays)),
        start_time=s.start_time,
        end_time=s.end_time,
        first_date=s.first_date,
        last_date=s.last_date,
        interval_weeks=s.interval_weeks,
        status=s.status,
        status_reason=s.status_reason,
    )


def rows(
    db: Session,
    *,
    branch_ids: list[int] | None,
    teacher_id: int | None = None,
    student_id: int | None = None,
    status: SeriesStatus | None = None,
    limit: int = 200,
) -> list[SeriesRow]:
    """List series by branch, start time and teacher, filtered; with names."""
    query = _query().order_by(Branch.name, ClassSeries.start_time, Teacher.name, ClassSeries.id)
    if branch_ids is not None:
        query = query.where(ClassSeries.branch_id.in_(branch_ids))
    if teacher_id is not None:
        query = query.where(ClassSeries.teacher_id == teacher_id)
    if student_id is not None:
        enrolled = select(SeriesEnrolment.series_id).where(SeriesEnrolment.student_id == student_id)
        query = query.where((ClassSeries.student_id == student_id) | ClassSeries.id.in_(enrolled))
    if status is not None:
        query = query.where(ClassSeries.status == status)
    return [_row(*r) for r in db.execute(query.limit(limit))]


def one(db: Session, series_id: int) -> SeriesRow | None:
    """Return one series with its names (None when it does not exist)."""
    found = db.execute(_query().where(ClassSeries.id == series_id)).first()
    return _row(*found) if found else None


@dataclass(frozen=True)
class SessionLine:
    """One session of a series, for its detail page."""

    id: int
    date: date
    start_time: time
    end_time: time
    status: SessionStatus
    cancel_reason: str | None
    conflicts: int


def breaks(db: Session, series_id: int, *, since: date) -> list[SeriesPauseRecord]:
    """Return the series' breaks not ended and not over by `since`, first first."""
    return list(
        db.scalars(
            select(SeriesPauseRecord)
            .where(
                SeriesPauseRecord.series_id == series_id,
                SeriesPauseRecord.ended_at.is_(None),
                SeriesPauseRecord.until_date >= since,
            )
            .order_by(SeriesPauseRecord.from_date)
        )
    )


def sessions_of(db: Session, series_id: int, *, since: date, limit: int = 120) -> list[SessionLine]:
    """Return a series' sessions from `since` on, in date order."""
    found = db.execute(
        select(
            ClassSession.id,
            ClassSession.date,
            ClassSession.start_time,
            ClassSession.end_time,
            ClassSession.status,
            ClassSession.cancel_reason,
            ClassSession.conflicts_with,
        )
        .where(ClassSession.series_id == series_id, ClassSession.date >= since)
        .order_by(ClassSession.date, ClassSession.start_time)
        .limit(limit)
    )
    return [SessionLine(*r[:6], conflicts=len(r[6] or [])) for r in found]


def history(db: Session, series_id: int, *, limit: int = 300) -> list[AuditEvent]:
    """Return the audit events of a series, newest first (a run's skipped dates, one
    event each, are shown folded into one line)."""
    return audit.events(db, series_id=series_id, limit=limit)


@dataclass(frozen=True)
class Choices:
    """What a series form offers: branches, teachers, students, rooms (by name)."""

    branches: list[tuple[int, str]]
    teachers: list[tuple[int, str]]
    students: list[tuple[int, str]]
    rooms: list[tuple[int, int, str]]
    periods: list[tuple[int, str]] = field(default_factory=list)  # "1限 16:00-17:20 · Shibuya"

    def rooms_for(self, branch_id: object, kept: object = None) -> list[tuple[int, int, str]]:
        """The rooms of the branch the form has chosen (a form opened from a branch's
        grid, or shown again), else all: the picker is filtered without JavaScript. The
        room already chosen (`kept`) stays, whatever its branch: a form shown again keeps
        what was entered, and its error names the mismatch."""
        chosen = str(branch_id or "")
        if not chosen.isdigit():
            return self.rooms
        return [r for r in self.rooms if r[1] == int(chosen) or str(r[0]) == str(kept)]


def choices(db: Session, *, branch_ids: list[int] | None) -> Choices:
    """Return the options of a form, for the caller's branches: active people and rooms,
    each room labelled with its branch ("Room 1 · Shibuya"), by branch then name."""
    branches = select(Branch.id, Branch.name).order_by(Branch.name)
    rooms = (
        select(Room.id, Room.branch_id, Room.name, Branch.name)
        .join(Branch, Branch.id == Room.branch_id)
        .where(Room.active)
        .order_by(Branch.name, Room.name, Room.id)
    )
    if branch_ids is not None:
        branches = branches.where(Branch.id.in_(branch_ids))
        rooms = rooms.where(Room.branch_id.in_(branch_ids))
    active_teachers = select(Teacher.id, Teacher.name).where(Teacher.active)
    active_students = select(Student.id, Student.name).where(Student.active)
    return Choices(
        branches=[(i, n) for i, n in db.execute(branches)],
        teachers=[(i, n) for i, n in db.execute(active_teachers.order_by(Teacher.name))],
        students=[(i, n) for i, n in db.execute(active_students.order_by(Student.name))],
        rooms=[(i, b, f"{n} · {site}") for i, b, n, site in db.execute(rooms)],
        periods=[
            (p.id, f"{p.name} {p.start_time:%H:%M}-{p.end_time:%H:%M} · {site}")
            for p, site in branch_periods.of(db, branch_ids)
        ],
    )
