"""Marking attendance: each mark is kept per lesson and student, and an absence that the
policy rewards earns a make-up credit, once; a correction takes the credit back (revoked
if unused, flagged for staff if used)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from komawari.attendance import credits
from komawari.attendance.enums import AttendanceState
from komawari.attendance.models import AttendanceMark
from komawari.attendance.schemas import MarkIn
from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.errors import InvalidInput
from komawari.scheduling import clock
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession, SessionAttendee
from komawari.words import say


@dataclass
class Marked:
    """What one request of marks did."""

    marks: list[AttendanceMark] = field(default_factory=list)
    issued: list[int] = field(default_factory=list)
    revoked: list[int] = field(default_factory=list)
    flagged: list[int] = field(default_factory=list)


def students_of(db: Session, lesson: ClassSession) -> set[int]:
    """The students a lesson is for: its student, or its group's attendees."""
    if lesson.student_id is not None:
        return {lesson.student_id}
    return set(
        db.scalars(
            select(SessionAttendee.student_id).where(SessionAttendee.session_id == lesson.id)
        )
    )


def earns(mark: AttendanceMark, lesson: ClassSession) -> bool:
    """The default policy: an absence notified before the lesson starts."""
    return (
        mark.state == AttendanceState.ABSENT_NOTIFIED
        and mark.notified_at is not None
        and mark.notified_at < lesson.starts_at
    )


def mark(db: Session, lesson: ClassSession, marks: list[MarkIn], actor: Actor) -> Marked:
    """Record the marks of one lesson (before it, an absence notice; after, the roll)."""
    if lesson.status == SessionStatus.CANCELLED:
        raise InvalidInput(
            "session_id", say("attendance.lesson-cancelled", "this lesson is cancelled")
        )
    allowed = students_of(db, lesson)
    now = clock.db_now(db)
    seen: set[int] = set()
    done = Marked()
    for wanted in marks:
        if wanted.student_id not in allowed:
            raise InvalidInput(
                "student_id",
                say(
                    "attendance.not-in-lesson",
                    "student %(id)s is not in this lesson",
                    id=wanted.student_id,
                ),
            )
        if wanted.student_id in seen:
            raise InvalidInput(
                "student_id",
                say("attendance.twice", "student %(id)s is marked twice", id=wanted.student_id),
            )
        seen.add(wanted.student_id)
        notified = _notified_at(wanted, now)
        # Insert the mark, or wait for a concurrent request's and then lock it: N requests
        # marking one student at once each find one row (an INSERT that collides with an
        # uncommitted one waits for it, then does nothing).
        made = db.execute(
            insert(AttendanceMark)
            .values(
                session_id=lesson.id,
                student_id=wanted.student_id,
                state=wanted.state,
                notified_at=notified,
                marked_by=actor.name,
            )
            .on_conflict_do_nothing(index_elements=["session_id", "student_id"])
            .returning(AttendanceMark.id)
        ).scalar_one_or_none()
        row = db.scalars(
            select(AttendanceMark)
            .where(
                AttendanceMark.session_id == lesson.id,
                AttendanceMark.student_id == wanted.student_id,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        before = None
        if made is None:
            before = {"state": row.state.value, "notified_at": _iso(row.notified_at)}
            row.state, row.notified_at, row.marked_by = wanted.state, notified, actor.name
            row.marked_at = now
        db.flush()
        audit.record(
            db,
            actor=actor,
            action="attendance.mark",
            subject_type="session",
            subject_id=lesson.id,
            branch_id=lesson.branch_id,
            details={
                "student_id": wanted.student_id,
                "before": before,
                "after": {"state": row.state.value, "notified_at": _iso(notified)},
            },
        )
        done.marks.append(row)
        _settle(db, lesson, row, actor, done)
    return done


def _settle(
    db: Session, lesson: ClassSession, row: AttendanceMark, actor: Actor, done: Marked
) -> None:
    existing = credits.of_absence(db, lesson.id, row.student_id)
    if earns(row, lesson):
        if existing is None:
            made = credits.issue(db, lesson, row.student_id, actor)
            if made is not None:
                done.issued.append(made.id)
        return
    if existing is not None:
        why = f"attendance corrected to {row.state.value}"
        outcome = credits.take_back(db, existing, actor, why)
        if outcome == "revoked":
            done.revoked.append(existing.id)
        elif outcome == "flagged":
            done.flagged.append(existing.id)


def _notified_at(wanted: MarkIn, now: datetime) -> datetime | None:
    if wanted.state != AttendanceState.ABSENT_NOTIFIED:
        return None
    if wanted.notified_at is None:
        return now
    if wanted.notified_at > now:
        raise InvalidInput(
            "notified_at",
            say("attendance.notice-in-future", "a notice cannot come from the future"),
        )
    return wanted.notified_at


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
