"""Reading sessions: filtered keyset pages and a branch's day; what a session clashes with
(from both sides, redacted for the viewer) comes from `read_model`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, time
from typing import Any

from sqlalchemy import Select, select, tuple_
from sqlalchemy.orm import Session

from komawari.attendance import credits, teacher_absence
from komawari.auth.policy import Principal
from komawari.branches.models import Branch
from komawari.errors import InvalidInput, NotFound
from komawari.people.models import Room, Student, Teacher
from komawari.series.enums import SeriesKind
from komawari.sessions import read_model
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession, SessionAttendee
from komawari.sessions.schemas import BranchSchedule
from komawari.words import say

Cursor = tuple[date, time, int]


def encode_cursor(row: ClassSession) -> str:
    """Return the cursor that continues after `row`."""
    return f"{row.date.isoformat()}_{row.start_time.isoformat()}_{row.id}"


def decode_cursor(value: str) -> Cursor:
    """Parse a cursor from `encode_cursor`, naming the field when it is not one."""
    try:
        day, at, row_id = value.split("_")
        return date.fromisoformat(day), time.fromisoformat(at), int(row_id)
    except ValueError as exc:
        not_one = say("cursor.not-valid", "this is not a cursor from a previous page")
        raise InvalidInput("cursor", not_one) from exc


def search(
    db: Session,
    *,
    branch_ids: list[int] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    teacher_id: int | None = None,
    student_id: int | None = None,
    status: SessionStatus | None = None,
    after: Cursor | None = None,
    limit: int = 200,
) -> list[ClassSession]:
    """List sessions in (date, start, id) order, filtered, continuing after a cursor."""
    key = tuple_(ClassSession.date, ClassSession.start_time, ClassSession.id)
    query = select(ClassSession).order_by(*key.clauses).limit(limit)
    if after is not None:
        query = query.where(key > tuple_(*after))
    if branch_ids is not None:
        query = query.where(ClassSession.branch_id.in_(branch_ids))
    if date_from is not None:
        query = query.where(ClassSession.date >= date_from)
    if date_to is not None:
        query = query.where(ClassSession.date <= date_to)
    if teacher_id is not None:
        query = query.where(ClassSession.teacher_id == teacher_id)
    if student_id is not None:
        group = select(SessionAttendee.session_id).where(SessionAttendee.student_id == student_id)
        query = query.where((ClassSession.student_id == student_id) | ClassSession.id.in_(group))
    if status is not None:
        query = query.where(ClassSession.status == status)
    return list(db.scalars(query))


def attendees(db: Session, ids: Iterable[int]) -> dict[int, list[int]]:
    """Return the students of group sessions `ids`."""
    found: dict[int, list[int]] = defaultdict(list)
    id_list = sorted(set(ids))
    if id_list:
        for sid, student in db.execute(
            select(SessionAttendee.session_id, SessionAttendee.student_id)
            .where(SessionAttendee.session_id.in_(id_list))
            .order_by(SessionAttendee.session_id, SessionAttendee.student_id)
        ):
            found[sid].append(student)
    return found


_COLUMNS = (
    ClassSession.id,
    ClassSession.branch_id,
    ClassSession.series_id,
    ClassSession.original_date,
    ClassSession.kind,
    ClassSession.title,
    ClassSession.date,
    ClassSession.start_time,
    ClassSession.end_time,
    ClassSession.teacher_id,
    Teacher.name.label("teacher_name"),
    ClassSession.student_id,
    Student.name.label("student_name"),
    ClassSession.room_id,
    Room.name.label("room_name"),
    ClassSession.status,
    ClassSession.cancel_reason,
    ClassSession.conflicts_with,
    credits.makes_up().label("makeup_for_id"),
    teacher_absence.needs_substitute().label("needs_substitute"),
)


_KEYS = tuple(c.key for c in _COLUMNS)


def _select() -> Select[*tuple[Any, ...]]:
    return (
        select(*_COLUMNS)
        .join(Teacher, Teacher.id == ClassSession.teacher_id)
        .outerjoin(Student, Student.id == ClassSession.student_id)
        .outerjoin(Room, Room.id == ClassSession.room_id)
    )


def _dicts(db: Session, query: Select[*tuple[Any, ...]]) -> list[dict[str, Any]]:
    # Plain dicts: a Row's attribute access costs more than the query for 600 rows.
    return [dict(zip(_KEYS, row, strict=True)) for row in db.execute(query)]


def conflict_refs(
    db: Session,
    rows: Iterable[tuple[int, list[int]]],
    *,
    viewer: Principal | None = None,
) -> dict[int, list[dict[str, Any]]]:
    """Describe (as ConflictRef fields) the blockers of (session id, blocker ids) pairs,
    each redacted for `viewer` by the read model (None: everything, the operator's)."""
    return read_model.clashes(db, rows, viewer=viewer, later=False).conflicts_with


def clashed_by(
    db: Session,
    ids: Iterable[int],
    *,
    between: tuple[date, date] | None = None,
    viewer: Principal | None = None,
) -> dict[int, list[dict[str, Any]]]:
    """Describe (as ConflictRef fields) the later sessions that clash with each of `ids`.

    The read model finds them all, in its one window around the sessions' own dates;
    `between` (the caller's days) is no longer needed and is ignored.
    """
    del between
    return read_model.clashes(db, ((i, []) for i in ids), viewer=viewer, earlier=False).clashed_by


def branch_day(
    db: Session, *, branch_id: int, day: date, viewer: Principal | None = None
) -> BranchSchedule:
    """Return the day at a branch: teachers with their sessions in time order."""
    branch = db.get(Branch, branch_id)
    if branch is None:
        raise NotFound(say("branch.not-found", "branch %(id)s does not exist", id=branch_id))
    rows = _dicts(
        db,
        _select()
        .where(ClassSession.branch_id == branch_id, ClassSession.date == day)
        .order_by(Teacher.name, ClassSession.teacher_id, ClassSession.start_time, ClassSession.id),
    )
    group = attendees(db, [r["id"] for r in rows if r["kind"] == SeriesKind.GROUP])
    # A make-up lesson names its absence only to a viewer who may read that lesson.
    seen = read_model.readable(db, viewer, {r["makeup_for_id"] for r in rows} - {None})
    for r in rows:
        r["student_ids"] = [r["student_id"]] if r["student_id"] else group.get(r["id"], [])
        r["makeup"] = r["makeup_for_id"] is not None
        r["makeup_for_id"] = r["makeup_for_id"] if r["makeup_for_id"] in seen else None
    both = read_model.clashes(db, ((r["id"], r["conflicts_with"]) for r in rows), viewer=viewer)
    refs, later = both.conflicts_with, both.clashed_by
    teachers: list[dict[str, Any]] = []
    status_count = dict.fromkeys(SessionStatus, 0)
    for r in rows:
        status_count[r["status"]] += 1
        if not teachers or teachers[-1]["teacher_id"] != r["teacher_id"]:
            teachers.append(
                {"teacher_id": r["teacher_id"], "teacher_name": r["teacher_name"], "sessions": []}
            )
        teachers[-1]["sessions"].append(
            {**r, "conflicts_with": refs.get(r["id"], []), "clashed_by": later.get(r["id"], [])}
        )
    return BranchSchedule.model_validate(
        {
            "branch_id": branch.id,
            "branch_name": branch.name,
            "time_zone": branch.time_zone,
            "date": day,
            "counts": {
                "total": len(rows),
                "confirmed": status_count[SessionStatus.CONFIRMED],
                "conflicted": status_count[SessionStatus.CONFLICTED],
                "cancelled": status_count[SessionStatus.CANCELLED],
            },
            "teachers": teachers,
        }
    )
