"""/calendar/...ics: calendar feeds, authorised by the feed's own secret key."""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Query, Response

from komawari.sessions import calendar
from komawari.web.deps import Db, Id
from komawari.web.problems import ERROR_RESPONSES
from komawari.web.routing import KomawariRoute

router = APIRouter(
    prefix="/calendar",
    tags=["calendar"],
    route_class=KomawariRoute,
    responses={404: ERROR_RESPONSES[404], 422: ERROR_RESPONSES[422]},
)
Key = Annotated[
    str | None, Query(max_length=200, description="The feed's secret key (from its URL)")
]
ICS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/calendar": {"schema": {"type": "string"}}}, "description": "iCal"}
}


def redact_keys(target: str) -> str:
    """Return a request target with the value of every `key` query parameter hidden."""
    path, mark, query = target.partition("?")
    if not mark:
        return target
    parts = [
        f"{name}=[redacted]" if unquote_plus(name) == "key" else f"{name}{eq}{value}"
        for name, eq, value in (p.partition("=") for p in query.split("&"))
    ]
    return f"{path}?{'&'.join(parts)}"


class RedactFeedKeys(logging.Filter):
    """Hide feed keys in access-log records (uvicorn passes the request target as an arg)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's text arguments; keep the record."""
        if isinstance(record.args, tuple):
            record.args = tuple(redact_keys(a) if isinstance(a, str) else a for a in record.args)
        return True


ACCESS_LOG_FILTER = RedactFeedKeys()


def _ics(body: bytes) -> Response:
    return Response(body, media_type="text/calendar; charset=utf-8")


@router.get("/teachers/{teacher_id}.ics", response_class=Response, responses=ICS)
def teacher_feed(teacher_id: Id, db: Db, key: Key = None) -> Response:
    """Return a teacher's lessons as an iCalendar feed."""
    return _ics(calendar.feed(db, owner_type="teacher", owner_id=teacher_id, key=key))


@router.get("/students/{student_id}.ics", response_class=Response, responses=ICS)
def student_feed(student_id: Id, db: Db, key: Key = None) -> Response:
    """Return a student's lessons as an iCalendar feed."""
    return _ics(calendar.feed(db, owner_type="student", owner_id=student_id, key=key))
