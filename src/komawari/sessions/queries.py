"""Reading sessions: filtered keyset pages, what a session conflicts with, a branch's day."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, time, timedelta
from typing import Any

from sqlalchemy import BigInteger, Select, cast, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from komawari.auth import policy
from komawari.auth.policy import Principal
from komawari.branches.models import Branch
from komawari.errors import InvalidInput, NotFound
from komawari.people.models import Room, Student, Teacher
from komawari.scheduling.keys import CLASH_DAYS
from komawari.series.enums import SeriesKind
from komawari.sessions import sql
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession, SessionAttendee
from komawari.sessions.schemas import BranchSchedule

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
        raise InvalidInput("cursor", "not a cursor from a previous page's next_cursor") from exc


def search(
    session: Session,
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
    return list(session.scalars(query))


def attendees(session: Session, ids: Iterable[int]) -> dict[int, list[int]]:
    """Return the students of group sessions `ids`."""
    found: dict[int, list[int]] = defaultdict(list)
    id_list = sorted(set(ids))
    if id_list:
        for sid, student in session.execute(
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
)


_KEYS = tuple(c.key for c in _COLUMNS)


def _select() -> Select[*tuple[Any, ...]]:
    return (
        select(*_COLUMNS)
        .join(Teacher, Teacher.id == ClassSession.teacher_id)
        .outerjoin(Student, Student.id == ClassSession.student_id)
        .outerjoin(Room, Room.id == ClassSession.room_id)
    )


def _dicts(session: Session, query: Select[*tuple[Any, ...]]) -> list[dict[str, Any]]:
    # Plain dicts: a Row's attribute access costs more than the query for 600 rows.
    return [dict(zip(_KEYS, row, strict=True)) for row in session.execute(query)]


_HIDDEN = dict.fromkeys(
    ("session_id", "branch_id", "teacher_id", "teacher_name", "student_id", "student_name"),
) | {"title": None, "room_id": None, "status": None, "hidden": True}


def conflict_refs(
    session: Session,
    rows: Iterable[tuple[int, list[int]]],
    *,
    viewer: Principal | None = None,
) -> dict[int, list[dict[str, Any]]]:
    """Describe (as ConflictRef fields) the blockers of (session id, blocker ids) pairs.

    A blocker `viewer` may not read keeps its date, times and what it shares only
    (None: everything is shown, for the operator's commands).
    """
    items = [(sid, blockers) for sid, blockers in rows if blockers]
    if not items:
        return {}
    wanted = sorted({b for _, blockers in items for b in blockers})
    blockers = {r["id"]: r for r in _dicts(session, _select().where(ClassSession.id.in_(wanted)))}
    for r in blockers.values():
        r["session_id"], r["hidden"] = r["id"], False
        if viewer is not None and not policy.may_read_session(
            viewer, branch_id=r["branch_id"], teacher_id=r["teacher_id"]
        ):
            r.update(_HIDDEN)
    pairs = [(sid, bid) for sid, ids in items for bid in ids]
    # What each pair shares comes from the SQL that finds the pairs (sessions.sql).
    shared = {
        (int(r.a_id), int(r.b_id)): [k for k in ("teacher", "student", "room") if r._mapping[k]]
        for r in session.execute(
            text(sql.SHARED),
            {"a_ids": [a for a, _ in pairs], "b_ids": [b for _, b in pairs]},
        )
    }
    return {
        sid: [{**blockers[bid], "shared": shared[(sid, bid)]} for bid in ids if bid in blockers]
        for sid, ids in items
    }


def clashed_by(
    session: Session,
    ids: Iterable[int],
    *,
    between: tuple[date, date],
    viewer: Principal | None = None,
) -> dict[int, list[dict[str, Any]]]:
    """Describe (as ConflictRef fields) the later sessions that clash with each of `ids`.

    The partners of a clash overlap in time, so they are looked for within CLASH_DAYS of
    `between` (the sessions' first and last days): a CONFIRMED session lists them.
    """
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    later: dict[int, list[int]] = defaultdict(list)
    for later_id, blockers in session.execute(
        select(ClassSession.id, ClassSession.conflicts_with)
        .where(
            ClassSession.date.between(
                between[0] - timedelta(days=CLASH_DAYS), between[1] + timedelta(days=CLASH_DAYS)
            ),
            # ix_class_sessions_conflicted_date; and && only on the rows that name any
            func.cardinality(ClassSession.conflicts_with) > 0,
            ClassSession.conflicts_with.overlap(cast(wanted, ARRAY(BigInteger))),
        )
        .order_by(ClassSession.id)
    ):
        for blocker in blockers:
            if blocker in wanted:
                later[blocker].append(later_id)
    return conflict_refs(session, later.items(), viewer=viewer)


def branch_day(
    session: Session, *, branch_id: int, day: date, viewer: Principal | None = None
) -> BranchSchedule:
    """Return the day at a branch: teachers with their sessions in time order."""
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise NotFound(f"branch {branch_id} does not exist")
    rows = _dicts(
        session,
        _select()
        .where(ClassSession.branch_id == branch_id, ClassSession.date == day)
        .order_by(Teacher.name, ClassSession.teacher_id, ClassSession.start_time, ClassSession.id),
    )
    group = attendees(session, [r["id"] for r in rows if r["kind"] == SeriesKind.GROUP])
    for r in rows:
        r["student_ids"] = [r["student_id"]] if r["student_id"] else group.get(r["id"], [])
    refs = conflict_refs(session, ((r["id"], r["conflicts_with"]) for r in rows), viewer=viewer)
    later = clashed_by(session, (r["id"] for r in rows), between=(day, day), viewer=viewer)
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
