"""/api/class-sessions: list and read, book a one-off, cancel, move."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from komawari.auth import service as auth
from komawari.auth.enums import Role
from komawari.auth.service import Principal
from komawari.errors import InvalidInput, NotFound
from komawari.scheduling.fields import Day
from komawari.sessions import queries
from komawari.sessions import service as sessions_service
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from komawari.sessions.schemas import (
    SessionCancel,
    SessionCreate,
    SessionMove,
    SessionPage,
    SessionRead,
)
from komawari.web.deps import Caller, Cursor, Db, Id, Limit, OptId
from komawari.web.routing import api_router

router = api_router("/class-sessions", "class-sessions")


def _visible(who: Principal, row: ClassSession) -> None:
    """Raise NotFound unless the caller may see the session (teachers: their own)."""
    if who.role == Role.TEACHER:
        if row.teacher_id != who.teacher_id:
            raise NotFound(f"session {row.id} does not exist")
        return
    auth.check_read(who, row.branch_id, f"session {row.id}")


@router.get("", summary="List sessions")
def list_sessions(
    db: Db,
    who: Caller,
    branch_id: OptId = None,
    date: Annotated[Day | None, Query(description="One day (instead of from/to)")] = None,
    date_from: Annotated[Day | None, Query(alias="from", description="First day")] = None,
    date_to: Annotated[Day | None, Query(alias="to", description="Last day")] = None,
    teacher_id: OptId = None,
    student_id: OptId = None,
    status: SessionStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 200,
) -> SessionPage:
    """List sessions in (date, start, id) order; teachers see their own only."""
    if date is not None and (date_from is not None or date_to is not None):
        raise InvalidInput("date", "give date, or from and to, not both")
    if who.role == Role.TEACHER:
        if branch_id is not None:
            raise NotFound(f"branch {branch_id} does not exist")
        branch_ids, teacher_id = None, _own_teacher(who, teacher_id)
    else:
        branch_ids = auth.branch_filter(who, branch_id)
    rows = queries.search(
        db,
        branch_ids=branch_ids,
        date_from=date or date_from,
        date_to=date or date_to,
        teacher_id=teacher_id,
        student_id=student_id,
        status=status,
        after=queries.decode_cursor(cursor) if cursor else None,
        limit=limit,
    )
    return SessionPage(
        items=[SessionRead.model_validate(r) for r in rows],
        next_cursor=queries.encode_cursor(rows[-1]) if len(rows) == limit else None,
    )


def _own_teacher(who: Principal, requested: int | None) -> int:
    assert who.teacher_id is not None  # ck_users_teacher_has_teacher
    if requested is not None and requested != who.teacher_id:
        raise NotFound(f"teacher {requested} has no sessions you may see")
    return who.teacher_id


@router.post("", status_code=201, summary="Book a one-off lesson")
def create_session(body: SessionCreate, db: Db, who: Caller, response: Response) -> SessionRead:
    """Book a one-off lesson: an exact duplicate is 409, an overlap is CONFLICTED."""
    auth.check_write(who, body.branch_id)
    row = sessions_service.create_one_off(db, session_in=body, actor=who.actor)
    response.headers["Location"] = f"/api/class-sessions/{row.id}"
    return SessionRead.model_validate(row)


@router.get("/{session_id}", summary="Get a session")
def get_session(session_id: Id, db: Db, who: Caller) -> SessionRead:
    """Return a session."""
    row = sessions_service.get(db, session_id)
    _visible(who, row)
    return SessionRead.model_validate(row)


@router.post("/{session_id}/cancel", summary="Cancel with a reason")
def cancel(session_id: Id, body: SessionCancel, db: Db, who: Caller) -> SessionRead:
    """Cancel a session; the sessions it blocked are re-evaluated at once."""
    auth.check_write(who, sessions_service.get(db, session_id).branch_id)
    row = sessions_service.cancel(db, session_id, reason=body.reason, actor=who.actor)
    return SessionRead.model_validate(row)


@router.post("/{session_id}/move", summary="Move to another date, time or room")
def move(session_id: Id, body: SessionMove, db: Db, who: Caller) -> SessionRead:
    """Move a session; it keeps its (series, original date) identity."""
    auth.check_write(who, sessions_service.get(db, session_id).branch_id)
    row = sessions_service.move(db, session_id, move_in=body, actor=who.actor)
    return SessionRead.model_validate(row)
