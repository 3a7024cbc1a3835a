"""Calendar feeds (RFC 5545): a teacher's or a student's sessions as an iCalendar file.

Each session is one VEVENT. Its UID is stable: a series occurrence keeps
(series, original date) through moves, a one-off keeps its session id. Times are the
branch's wall-clock values with a TZID and the matching VTIMEZONE.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from icalendar import Calendar, Event, Timezone
from sqlalchemy import select
from sqlalchemy.orm import Session

from komawari.auth import feeds
from komawari.auth.feeds import OwnerType
from komawari.branches.models import Branch
from komawari.people import queries as people
from komawari.people.models import Room, Student, Teacher
from komawari.scheduling.timerules import zone
from komawari.scheduling.values import clamp_year, printable
from komawari.sessions import queries
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession

PAST_DAYS = 90
MAX_EVENTS = 5000
_STATUS = {
    SessionStatus.CONFIRMED: "CONFIRMED",
    SessionStatus.CONFLICTED: "TENTATIVE",
    SessionStatus.CANCELLED: "CANCELLED",
}


def event_uid(row: ClassSession) -> str:
    """Return the stable UID of a session's event."""
    if row.series_id is not None and row.original_date is not None:
        return f"series-{row.series_id}-{row.original_date:%Y%m%d}@komawari"
    return f"session-{row.id}@komawari"


@lru_cache(maxsize=64)
def _vtimezone(name: str, first_year: int, last_year: int) -> Timezone:
    return Timezone.from_tzinfo(
        zone(name), tzid=name, first_date=date(first_year, 1, 1), last_date=date(last_year, 12, 31)
    )


def _rows(db: Session, owner_type: OwnerType, owner_id: int) -> list[Any]:
    since = datetime.now(UTC).date() - timedelta(days=PAST_DAYS)
    sessions = queries.search(
        db,
        date_from=since,
        teacher_id=owner_id if owner_type == "teacher" else None,
        student_id=owner_id if owner_type == "student" else None,
        limit=MAX_EVENTS,
    )
    ids = [s.id for s in sessions]
    if not ids:
        return []
    names = select(
        ClassSession.id,
        Branch.name.label("branch"),
        Teacher.name.label("teacher"),
        Student.name.label("student"),
        Room.name.label("room"),
    )
    extra = {
        r.id: r
        for r in db.execute(
            names.join(Branch, Branch.id == ClassSession.branch_id)
            .join(Teacher, Teacher.id == ClassSession.teacher_id)
            .outerjoin(Student, Student.id == ClassSession.student_id)
            .outerjoin(Room, Room.id == ClassSession.room_id)
            .where(ClassSession.id.in_(ids))
        )
    }
    return [(s, extra[s.id]) for s in sessions]


def _text(value: str) -> str:
    # Rows stored before the text rules held may carry control characters; a calendar
    # file shows them to people, so they go out escaped.
    return printable(value)


def _event(row: ClassSession, names: Any, stamp: datetime) -> Event:
    tz = zone(row.time_zone)
    who = _text(row.title or f"{names.student} with {names.teacher}")
    event = Event()
    event.add("uid", event_uid(row))
    event.add("dtstamp", stamp)
    event.add("dtstart", datetime.combine(row.date, row.start_time, tzinfo=tz))
    event.add("dtend", datetime.combine(row.date, row.end_time, tzinfo=tz))
    event.add("summary", f"Lesson: {who}")
    event.add("location", _text(", ".join(p for p in (names.branch, names.room) if p)))
    event.add("status", _STATUS[row.status])
    event.add("last-modified", row.updated_at)
    details = [f"Teacher: {_text(names.teacher)}"]
    if row.status == SessionStatus.CONFLICTED:
        details.append("Double-booked with session(s) " + ", ".join(map(str, row.conflicts_with)))
    if row.cancel_reason:
        details.append(f"Cancelled: {_text(row.cancel_reason)}")
    event.add("description", "\n".join(details))
    return event


def feed(db: Session, *, owner_type: OwnerType, owner_id: int, key: str | None) -> bytes:
    """Check the feed's key and return the owner's sessions as an iCalendar file."""
    feeds.check(db, owner_type=owner_type, owner_id=owner_id, key=key)
    owner = (people.get_teacher if owner_type == "teacher" else people.get_student)(db, owner_id)
    cal = Calendar()
    cal.add("prodid", "-//Komawari//Lesson schedule//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"Lessons: {_text(owner.name)}")
    rows = _rows(db, owner_type, owner_id)
    stamp = datetime.now(UTC).replace(microsecond=0)
    if rows:
        # Rows stored before dates were bounded may lie far out (9999-12-31); the zone
        # rules cover the accepted years, and the year after the last never overflows.
        first = clamp_year(min(r.date for r, _ in rows).year)
        last = clamp_year(max(r.date for r, _ in rows).year)
        for name in sorted({r.time_zone for r, _ in rows}):
            cal.add_component(_vtimezone(name, first, last + 1))
    for row, names in rows:
        cal.add_component(_event(row, names, stamp))
    return bytes(cal.to_ical())
