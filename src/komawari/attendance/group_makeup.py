"""A make-up (振替) in a group lesson: the student joins another group lesson of the
branch, with a seat left, using their credit, in one transaction.

The seats of a group lesson are its series' capacity plus the make-up seats of the
branch's group policy (a one-off group lesson has no capacity: no limit). The lesson's
resources and the student are locked first, so concurrent joins count the seats one after
another: the last seat goes to one student, never two. The ledger remembers the make-up:
the credit's use names the group lesson, and cancelling the lesson gives the credit back
(`credits.release_lessons`), as for a make-up lesson of its own.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from komawari.attendance import credits, slots, sql
from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.errors import Conflict, InvalidInput
from komawari.people import status as people_status
from komawari.scheduling import timerules
from komawari.series.enums import SeriesKind
from komawari.sessions import locks, queries
from komawari.sessions import service as sessions
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession, SessionAttendee
from komawari.words import say


def join(
    db: Session, session_id: int, *, student_id: int, credit_id: int, actor: Actor
) -> ClassSession:
    """Add `student_id` to the group lesson `session_id` as a make-up for `credit_id`."""
    locks.lock_resources(db, students=[student_id], sessions=[session_id])
    lesson = sessions.get(db, session_id, reread=True)
    if lesson.kind != SeriesKind.GROUP:
        raise InvalidInput(
            "session_id",
            say("makeup.not-group", "only a group lesson can be joined; book a lesson instead"),
        )
    if lesson.status == SessionStatus.CANCELLED:
        raise InvalidInput("session_id", say("makeup.cancelled", "this lesson is cancelled"))
    if lesson.starts_at <= timerules.now():
        raise InvalidInput(
            "session_id", say("makeup.started", "this lesson has started or is over")
        )
    credit = credits.locked(db, credit_id)
    if credit.branch_id != lesson.branch_id:
        raise InvalidInput(
            "credit_id",
            say("makeup.other-branch", "a make-up is booked at the branch that issued the credit"),
        )
    params = {"session": lesson.id, "student": student_id}
    if student_id in queries.attendees(db, [lesson.id]).get(lesson.id, []):
        raise Conflict(say("makeup.already-in", "the student is already in this lesson"))
    taken, capacity = db.execute(text(sql.SEATS), params).one()
    seats = slots.makeup_seats(db, lesson.branch_id)
    if capacity is not None and taken >= capacity + seats:
        raise Conflict(
            say(
                "makeup.full",
                "this lesson is full: %(taken)s students for %(capacity)s places and "
                "%(seats)s make-up seats",
                taken=taken,
                capacity=capacity,
                seats=seats,
            )
        )
    if db.scalar(text(sql.STUDENT_BUSY), params):
        raise Conflict(say("makeup.student-busy", "the student has another lesson at this time"))
    people_status.check_bookable(db, student_ids=[student_id])
    credits.use(db, credit_id, lesson, actor, student_id=student_id)
    db.add(SessionAttendee(session_id=lesson.id, student_id=student_id))
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="session.makeup_join",
        subject_type="session",
        subject_id=lesson.id,
        branch_id=lesson.branch_id,
        details={"student_id": student_id, "credit_id": credit_id},
    )
    db.refresh(lesson)
    return lesson
