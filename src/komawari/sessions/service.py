"""One-off sessions: book, cancel, restore, move (a substitute too), and the checks they share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from komawari.attendance import credits
from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.branches.models import Branch, BranchClosure
from komawari.db import errors as db_errors
from komawari.errors import DuplicateSession, InvalidInput, NotFound
from komawari.people import status as people_status
from komawari.people.models import Room
from komawari.series.enums import SeriesKind
from komawari.series.models import ClassSeries
from komawari.sessions import locks, reevaluate
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import UNIQUE_1ON1, ClassSession, SessionAttendee
from komawari.sessions.schemas import SessionCreate, SessionMove
from komawari.words import Say, say

# Said by the service and by the API (a cancel with no body at all) alike.
NO_CANCEL_REASON = say("lesson.cancel-needs-reason", "give a reason for cancelling")


def get(db: Session, session_id: int, *, reread: bool = False) -> ClassSession:
    """Return the session, or raise NotFound.

    `reread`: read the row again even if this session holds it (a writer, once its locks
    are held: the route's dependency loaded the row before them).
    """
    row = db.get(ClassSession, session_id, populate_existing=reread)
    if row is None:
        raise NotFound(not_found(session_id))
    return row


def not_found(session_id: int) -> Say:
    """The refusal of a lesson that does not exist (or that the caller may not see)."""
    return say("lesson.not-found", "there is no lesson number %(id)s", id=session_id)


def find_same_lesson(db: Session, row: ClassSession) -> ClassSession | None:
    """Return the live private session with the same (date, start, end, teacher, student)."""
    if row.kind != SeriesKind.PRIVATE:
        return None
    query = select(ClassSession).where(
        ClassSession.kind == SeriesKind.PRIVATE,
        ClassSession.status != SessionStatus.CANCELLED,
        ClassSession.date == row.date,
        ClassSession.start_time == row.start_time,
        ClassSession.end_time == row.end_time,
        ClassSession.teacher_id == row.teacher_id,
        ClassSession.student_id == row.student_id,
    )
    if row.id is not None:
        query = query.where(ClassSession.id != row.id)
    return db.scalars(query.limit(1)).first()


def _guarded(
    db: Session,
    row: ClassSession,
    change: Callable[[], None],
    probe: ClassSession | None = None,
) -> None:
    """Apply `change` and flush in a savepoint; the exact-duplicate guard becomes a 409.

    `probe` carries the new key when `row` changes, since a rolled-back savepoint puts
    the row's old values back.
    """

    def refusal() -> DuplicateSession:
        other = find_same_lesson(db, probe or row)
        return DuplicateSession(other.id if other else None)

    db_errors.guarded(db, change, refusal, UNIQUE_1ON1)


def check_open(db: Session, branch_id: int, day: date) -> None:
    """Refuse a lesson on a day its branch is closed (closing it would have cancelled it).

    Called with the resource locks held: adding a closure takes the whole schedule, so a
    closure committed before them is seen here, and none can commit until this ends.
    """
    closure = db.scalar(
        select(BranchClosure.reason).where(
            BranchClosure.branch_id == branch_id, BranchClosure.date == day
        )
    )
    if closure is not None:
        branch = db.get(Branch, branch_id)
        name = branch.name if branch else str(branch_id)
        if closure:
            raise InvalidInput(
                "date",
                say(
                    "lesson.branch-closed-for",
                    "%(branch)s is closed on %(day)s (%(reason)s); reopen that day first",
                    branch=name,
                    day=day,
                    reason=closure,
                ),
            )
        raise InvalidInput(
            "date",
            say(
                "lesson.branch-closed",
                "%(branch)s is closed on %(day)s; reopen that day first",
                branch=name,
                day=day,
            ),
        )


def create_one_off(db: Session, *, session_in: SessionCreate, actor: Actor) -> ClassSession:
    """Book a one-off lesson; conflicts are shown, exact duplicates refused."""
    # Before the insert, so its booking time (the statement's start) follows the locks.
    locks.lock_resources(
        db,
        teachers=[session_in.teacher_id],
        students=[session_in.student_id, *session_in.student_ids],
        rooms=[session_in.room_id],
    )
    branch = db.get(Branch, session_in.branch_id)
    if branch is None:
        raise InvalidInput(
            "branch_id",
            say("branch.not-found", "branch %(id)s does not exist", id=session_in.branch_id),
        )
    check_open(db, branch.id, session_in.date)
    students = [session_in.student_id] if session_in.student_id else session_in.student_ids
    people_status.check_bookable(
        db,
        teacher_id=session_in.teacher_id,
        student_ids=students,
        room_id=session_in.room_id,
        branch_id=branch.id,
    )
    row = ClassSession(
        branch_id=branch.id,
        time_zone=branch.time_zone,
        kind=SeriesKind(session_in.kind),
        title=session_in.title,
        date=session_in.date,
        start_time=session_in.start_time,
        end_time=session_in.end_time,
        teacher_id=session_in.teacher_id,
        student_id=session_in.student_id,
        room_id=session_in.room_id,
    )
    _guarded(db, row, lambda: db.add(row))
    for sid in dict.fromkeys(session_in.student_ids):
        db.add(SessionAttendee(session_id=row.id, student_id=sid))
    db.flush()
    reevaluate.evaluate(db, [row.id])
    db.refresh(row)
    audit.record(
        db,
        actor=actor,
        action="session.create",
        subject_type="session",
        subject_id=row.id,
        branch_id=row.branch_id,
        details=session_in.model_dump(mode="json"),
    )
    if session_in.credit_id is not None:  # a make-up lesson: it uses the credit, or nothing
        credits.use(db, session_in.credit_id, row, actor)
    return row


def cancel(db: Session, session_id: int, *, reason: str, actor: Actor) -> ClassSession:
    """Cancel a session with a reason; the sessions it blocked are re-evaluated at once."""
    if not reason.strip():
        raise InvalidInput("reason", NO_CANCEL_REASON)
    locks.lock_sessions(db, [session_id])
    row = get(db, session_id, reread=True)
    if row.status == SessionStatus.CANCELLED:
        raise InvalidInput(
            "status", say("lesson.already-cancelled", "this lesson is already cancelled")
        )
    row.status, row.cancel_reason, row.conflicts_with = SessionStatus.CANCELLED, reason, []
    row.cancelled_at = func.now()
    db.flush()
    changed = reevaluate.evaluate(db, [row.id])
    db.refresh(row)
    _audit(db, row, "session.cancel", actor, reason, {"re_evaluated": _statuses(changed)})
    credits.release(db, row, actor)  # a cancelled make-up lesson gives its credit back
    return row


def move(db: Session, session_id: int, *, move_in: SessionMove, actor: Actor) -> ClassSession:
    """Move a session to another date, time or room, or give it another teacher (a
    substitute); it keeps its (series, original date)."""
    locks.lock_resources(
        db, sessions=[session_id], rooms=[move_in.room_id], teachers=[move_in.teacher_id]
    )
    row = get(db, session_id, reread=True)
    if row.status == SessionStatus.CANCELLED:
        cancelled = say(
            "lesson.cancelled-not-movable", "this lesson is cancelled; it cannot be moved"
        )
        raise InvalidInput("status", cancelled)
    before = {
        "date": row.date.isoformat(),
        "start_time": row.start_time.isoformat(),
        "end_time": row.end_time.isoformat(),
        "room_id": row.room_id,
        "teacher_id": row.teacher_id,
    }
    old_neighbours = reevaluate.neighbours(db, [row.id])
    new_start = move_in.start_time or row.start_time
    new_end = move_in.end_time or row.end_time
    if move_in.start_time is not None and move_in.end_time is None:
        # Keep the lesson's length when only the start moves.
        length = _minutes(row.end_time) - _minutes(row.start_time)
        total = _minutes(new_start) + length
        if total >= 24 * 60:
            late = say("lesson.past-midnight", "the lesson would run past midnight")
            raise InvalidInput("start_time", late)
        new_end = new_end.replace(hour=total // 60, minute=total % 60)
    if new_end <= new_start:
        raise InvalidInput(
            "end_time", say("time.end-not-after-start", "must be after the start time")
        )
    if move_in.date is not None and move_in.date != row.date:
        check_open(db, row.branch_id, move_in.date)
    if move_in.room_id is not None and move_in.room_id != row.room_id:
        check_room_at(db, move_in.room_id, row.branch_id)
    teacher = move_in.teacher_id or row.teacher_id
    if teacher != row.teacher_id:
        people_status.check_bookable(db, teacher_id=teacher)
    # Who the lesson's own teacher is: kept while substitutes come and go.
    own = row.substitute_for_id or row.teacher_id

    def change() -> None:
        row.room_id = move_in.room_id or row.room_id
        row.date = move_in.date or row.date
        row.start_time, row.end_time = new_start, new_end
        row.teacher_id, row.substitute_for_id = teacher, (None if teacher == own else own)

    probe = ClassSession(
        id=row.id,
        kind=row.kind,
        date=move_in.date or row.date,
        start_time=new_start,
        end_time=new_end,
        teacher_id=teacher,
        student_id=row.student_id,
    )
    _guarded(db, row, change, probe)
    reevaluate.evaluate(db, [row.id, *old_neighbours])
    db.refresh(row)
    after = move_in.model_dump(mode="json", exclude_none=True)
    _audit(db, row, "session.move", actor, move_in.reason, {"before": before, "after": after})
    return row


def check_room_at(db: Session, room_id: int, branch_id: int) -> None:
    """Refuse a room that is not one of the branch's, naming both by name."""
    room = db.get(Room, room_id)
    branch = db.get(Branch, branch_id)
    here = branch.name if branch else str(branch_id)
    if room is None:
        raise InvalidInput(
            "room_id", say("room.not-found", "room %(id)s does not exist", id=room_id)
        )
    if room.branch_id != branch_id:
        there = db.get(Branch, room.branch_id)
        raise InvalidInput(
            "room_id",
            say(
                "lesson.room-of-another-branch",
                "%(room)s at %(there)s is not a room of %(here)s",
                room=room.name,
                there=there.name if there else str(room.branch_id),
                here=here,
            ),
        )
    people_status.check_bookable(db, room_id=room_id, branch_id=branch_id)


def restore(
    db: Session, session_id: int, *, actor: Actor, reason: str | None = None
) -> ClassSession:
    """Bring back a cancelled lesson; its verdict is taken again, as a booking made now.

    Lessons booked into its time while it was cancelled keep their place: the restored
    lesson is the later booking (its booking time is the restore's), so it is the one
    that shows a clash. Refused: a lesson that is not cancelled, a duplicate row kept as
    cancelled, a day its branch is closed, a day after its series' last date, a teacher,
    student or room no longer active, and a live lesson with the same key (409).
    """
    locks.lock_sessions(db, [session_id])
    row = get(db, session_id, reread=True)
    if row.status != SessionStatus.CANCELLED:
        raise InvalidInput("status", say("lesson.not-cancelled", "this lesson is not cancelled"))
    if row.duplicate_of_id is not None:
        raise InvalidInput(
            "status",
            say(
                "lesson.duplicate-kept-cancelled",
                "this lesson is a duplicate of another one, kept as cancelled; "
                "it cannot be restored",
            ),
        )
    check_open(db, row.branch_id, row.date)
    if row.series_id is not None:
        last = db.scalar(select(ClassSeries.last_date).where(ClassSeries.id == row.series_id))
        if last is not None and row.date > last:
            ended = say(
                "lesson.series-ended",
                "the series of this lesson ended on %(last)s; it has no lesson on %(day)s",
                last=last,
                day=row.date,
            )
            raise InvalidInput("date", ended)
    people_status.check_bookable(
        db,
        teacher_id=row.teacher_id,
        student_ids=[row.student_id] if row.student_id is not None else [],
        room_id=row.room_id,
        branch_id=row.branch_id,
    )
    was = row.cancel_reason

    def change() -> None:
        row.status, row.cancel_reason, row.cancelled_at = SessionStatus.CONFIRMED, None, None
        row.cancelled_by_pause_id = None  # a resume no longer owns it
        row.created_at = func.statement_timestamp()  # booked again now: see above

    _guarded(db, row, change)
    changed = reevaluate.evaluate(db, [row.id])
    db.refresh(row)
    credits.use_again(db, row, actor)  # a restored make-up uses its credit again, or nothing
    details = {"cancel_reason": was, "status": row.status.value, "re_evaluated": _statuses(changed)}
    _audit(db, row, "session.restore", actor, reason, details)
    return row


def set_note(db: Session, session_id: int, *, note: str | None, actor: Actor) -> ClassSession:
    """Write (or, empty, remove) a lesson's note; audited with the note before."""
    row = get(db, session_id)
    before, row.note = row.note, (note or "").strip() or None
    db.flush()
    _audit(db, row, "session.note", actor, None, {"before": before, "after": row.note})
    return row


def _statuses(changed: dict[int, str]) -> dict[str, str]:
    """The lessons a change re-evaluated, as the audit's details keep them."""
    return {str(k): v for k, v in changed.items()}


def _audit(
    db: Session, row: ClassSession, action: str, actor: Actor, reason: str | None,
    details: dict[str, Any],
) -> None:  # fmt: skip
    """Record a change of the lesson `row` in the audit log, with its occurrence."""
    audit.record(
        db,
        actor=actor,
        action=action,
        subject_type="session",
        subject_id=row.id,
        branch_id=row.branch_id,
        series_id=row.series_id,
        occurrence_date=row.original_date,
        reason=reason,
        details=details,
    )


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute
