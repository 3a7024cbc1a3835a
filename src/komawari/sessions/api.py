"""/api/class-sessions: list and read, book a one-off, cancel, restore, move, substitute."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import Header, Query, Request, Response

from komawari.auth.dependencies import (
    NewSession,
    ReadableSession,
    StaffCaller,
    VisibleSessions,
    WritableSession,
)
from komawari.branches import versions
from komawari.errors import DuplicateSession, InvalidInput
from komawari.scheduling.fields import Day
from komawari.sessions import availability, queries, read_model
from komawari.sessions import service as sessions_service
from komawari.sessions.enums import SessionStatus
from komawari.sessions.reads import read_sessions
from komawari.sessions.schemas import (
    FreeRooms,
    FreeTeachers,
    SessionCancel,
    SessionMove,
    SessionNote,
    SessionPage,
    SessionRead,
    SessionRestore,
)
from komawari.web.deps import Caller, Cursor, Db, Limit, OptId
from komawari.web.routing import api_router
from komawari.words import say

router = api_router("/class-sessions", "class-sessions")


@router.get(
    "",
    summary="List sessions",
    response_model=SessionPage,
    responses={304: {"description": "Not modified: the If-None-Match ETag is current"}},
)
def list_sessions(
    request: Request,
    db: Db,
    who: Caller,
    visible: VisibleSessions,
    date: Annotated[Day | None, Query(description="One day (instead of from/to)")] = None,
    date_from: Annotated[Day | None, Query(alias="from", description="First day")] = None,
    date_to: Annotated[Day | None, Query(alias="to", description="Last day")] = None,
    student_id: OptId = None,
    status: SessionStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 200,
    if_none_match: Annotated[str | None, Header(description="An ETag of this page")] = None,
) -> Response:
    """List sessions in (date, start, id) order; teachers see their own only."""
    if date is not None and (date_from is not None or date_to is not None):
        both = say("query.date-and-range", "give one date, or a first and a last day, not both")
        raise InvalidInput("date", both)
    if date_from is not None and date_to is not None and date_from > date_to:
        backwards = say(
            "query.from-after-to",
            "the first day %(first)s is after the last day %(last)s",
            first=date_from,
            last=date_to,
        )
        raise InvalidInput("from", backwards)
    # The counters of the branches the page may show (all: a teacher's, an admin's list).
    tag = versions.state(db, visible.branch_ids).etag(
        "sessions", request.url.query, visible.branch_ids, visible.teacher_id,
        who.role, who.teacher_id, sorted(who.branch_ids),
    )  # fmt: skip
    headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
    if versions.matches(if_none_match, tag):
        return Response(status_code=304, headers=headers)
    rows = queries.search(
        db,
        branch_ids=visible.branch_ids,
        date_from=date or date_from,
        date_to=date or date_to,
        teacher_id=visible.teacher_id,
        student_id=student_id,
        status=status,
        after=queries.decode_cursor(cursor) if cursor else None,
        limit=limit,
    )
    found = SessionPage(
        items=read_sessions(db, rows, viewer=who),
        next_cursor=queries.encode_cursor(rows[-1]) if len(rows) == limit else None,
    )
    return Response(found.model_dump_json(), media_type="application/json", headers=headers)


@router.post("", status_code=201, summary="Book a one-off lesson")
def create_session(body: NewSession, db: Db, who: Caller, response: Response) -> SessionRead:
    """Book a one-off lesson: an exact duplicate is 409, an overlap is CONFLICTED."""
    try:
        row = sessions_service.create_one_off(db, session_in=body, actor=who.actor)
    except DuplicateSession as exc:  # named only when the caller may read it
        raise read_model.duplicate_answer(db, who, exc) from None
    response.headers["Location"] = f"/api/class-sessions/{row.id}"
    return read_sessions(db, [row], viewer=who)[0]


@router.get("/{session_id}", summary="Get a session")
def get_session(row: ReadableSession, db: Db, who: Caller) -> SessionRead:
    """Return a session, with the later bookings that clash with it (clashed_by)."""
    return read_sessions(db, [row], viewer=who)[0]


@router.get("/{session_id}/free-teachers", summary="Teachers free to substitute")
def free_teachers(row: ReadableSession, db: Db, who: StaffCaller) -> FreeTeachers:
    """List the teachers free for the lesson's whole time at every branch, best first
    (taught this student before, teach at this branch, fewest lessons that day), and the
    busy ones apart with what they are busy with (another branch's lesson redacted)."""
    free, busy = availability.teachers(db, row, viewer=who)
    return FreeTeachers.model_validate(
        {"free": [asdict(t) for t in free], "busy": [asdict(t) for t in busy]}
    )


@router.get("/{session_id}/free-rooms", summary="Rooms free for the lesson")
def free_rooms(row: ReadableSession, db: Db, who: StaffCaller) -> FreeRooms:
    """List the active rooms of the lesson's branch free for its whole time."""
    return FreeRooms.model_validate({"items": [asdict(r) for r in availability.rooms(db, row)]})


@router.post("/{session_id}/cancel", summary="Cancel with a reason")
def cancel(
    row: WritableSession, db: Db, who: Caller, body: SessionCancel | None = None
) -> SessionRead:
    """Cancel a session; the sessions it blocked are re-evaluated at once."""
    if body is None:  # no body at all: name what is missing, not "body"
        raise InvalidInput("reason", sessions_service.NO_CANCEL_REASON)
    done = sessions_service.cancel(db, row.id, reason=body.reason, actor=who.actor)
    return read_sessions(db, [done], viewer=who)[0]


@router.post("/{session_id}/note", summary="Write or remove the lesson's note")
def note(row: WritableSession, body: SessionNote, db: Db, who: Caller) -> SessionRead:
    """Write the lesson's note (empty or null removes it); audited."""
    done = sessions_service.set_note(db, row.id, note=body.note, actor=who.actor)
    return read_sessions(db, [done], viewer=who)[0]


@router.post("/{session_id}/restore", summary="Bring back a cancelled lesson")
def restore(
    row: WritableSession, db: Db, who: Caller, body: SessionRestore | None = None
) -> SessionRead:
    """Restore a cancelled lesson: its verdict is taken again, as a booking made now (a
    lesson booked into its time meanwhile keeps its place). Generation never does this."""
    try:
        done = sessions_service.restore(
            db, row.id, actor=who.actor, reason=body.reason if body else None
        )
    except DuplicateSession as exc:  # named only when the caller may read it
        raise read_model.duplicate_answer(db, who, exc) from None
    return read_sessions(db, [done], viewer=who)[0]


@router.post("/{session_id}/move", summary="Move to another date, time, room or teacher")
def move(row: WritableSession, body: SessionMove, db: Db, who: Caller) -> SessionRead:
    """Move a session, or give it a substitute teacher (`teacher_id`; the series keeps
    its teacher, and the lesson names its own in `substitute_for_id`); it keeps its
    (series, original date) identity."""
    try:
        done = sessions_service.move(db, row.id, move_in=body, actor=who.actor)
    except DuplicateSession as exc:  # named only when the caller may read it
        raise read_model.duplicate_answer(db, who, exc) from None
    return read_sessions(db, [done], viewer=who)[0]
