"""/api: mark a lesson's attendance; read a student's make-up credits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from komawari.attendance import (
    credits,
    day_api,
    group_makeup,
    policy_api,
    reports_api,
    service,
    slots,
    stats_api,
)
from komawari.attendance import teacher_absence as teacher_absence_service
from komawari.attendance.schemas import (
    CreditRead,
    CreditsRead,
    EntryRead,
    MakeupJoin,
    MakeupJoined,
    MakeupSlotsRead,
    MarkRead,
    Marks,
    MarksResult,
    SlotRead,
    TeacherAbsenceIn,
    TeacherAbsenceRead,
)
from komawari.auth.dependencies import (
    MarkableSession,
    OwnBranchIds,
    ReadableStudent,
    StaffCaller,
    WritableSession,
)
from komawari.sessions import queries
from komawari.sessions.reads import read_sessions
from komawari.web.deps import Caller, Db
from komawari.web.routing import api_router

lessons = api_router("/class-sessions", "attendance")
students = api_router("/students", "attendance")
routers = (
    lessons,
    students,
    day_api.router,
    reports_api.router,
    policy_api.router,
    stats_api.router,
)


@lessons.post("/{session_id}/attendance", summary="Mark attendance (or an absence notice)")
def mark_attendance(row: MarkableSession, body: Marks, db: Db, who: Caller) -> MarksResult:
    """Record each student's mark; an absence notified before the lesson earns a credit."""
    done = service.mark(db, row, body.marks, who.actor)
    return MarksResult(
        session_id=row.id,
        marks=[MarkRead.model_validate(m) for m in done.marks],
        credits_issued=done.issued,
        credits_revoked=done.revoked,
        credits_flagged=done.flagged,
    )


@students.get("/{student_id}/credits", summary="A student's make-up credits and balance")
def student_credits(student: ReadableStudent, db: Db, branches: OwnBranchIds) -> CreditsRead:
    """The balance is always the sum of the ledger's entries (of credits earned at the
    caller's branches: another branch's lessons stay unnamed)."""
    found = credits.balance(db, student.id, branches)
    return CreditsRead(
        student_id=student.id,
        balance=found.balance,
        credits=[CreditRead.model_validate(c) for c in found.credits],
        entries=[EntryRead.model_validate(e) for e in found.entries],
    )


@students.get("/{student_id}/makeup-slots", summary="Ranked times to book a make-up (振替)")
def makeup_slots(
    student: ReadableStudent,
    db: Db,
    branches: OwnBranchIds,
    weeks: Annotated[int, Query(ge=1, le=slots.MAX_WEEKS)] = 4,
    credit_id: Annotated[int | None, Query(gt=0)] = None,
    limit: Annotated[int, Query(ge=1, le=slots.MAX_SLOTS)] = 20,
) -> MakeupSlotsRead:
    """The next `weeks` weeks' times where a teacher of the credit's branch, a room and the
    student are all free, for the credit `credit_id` (default: the usable credit that
    expires first), the absent lesson's own teacher first, then the student's usual times.
    Book one with `POST /api/class-sessions` and its `credit_id`. For a missed group
    lesson the slots are other group lessons with a seat left (`session_id`): join one
    with `POST /api/class-sessions/{session_id}/makeup-attendees`."""
    found = slots.find(
        db, student.id, weeks=weeks, credit_id=credit_id, branch_ids=branches, limit=limit
    )
    credit = found.credit
    return MakeupSlotsRead(
        student_id=student.id,
        credit_id=credit.id if credit else None,
        expires_on=credit.expires_on if credit else None,
        absence_session_id=credit.absence_session_id if credit else None,
        branch_id=credit.branch_id if credit else None,
        group=found.group,
        slots=[SlotRead.model_validate(s) for s in found.slots],
    )


@lessons.post(
    "/{session_id}/teacher-absence", summary="The teacher cannot come: the lesson needs a 代講"
)
def teacher_absence(
    row: WritableSession, body: TeacherAbsenceIn, db: Db, who: Caller
) -> TeacherAbsenceRead:
    """Record that the lesson's teacher cannot come (the day grid and the lesson then say
    it needs a substitute, until another teacher takes it), or that they can after all."""
    needs = teacher_absence_service.set_away(
        db, row, absent=body.absent, reason=body.reason, actor=who.actor
    )
    return TeacherAbsenceRead(session_id=row.id, teacher_id=row.teacher_id, needs_substitute=needs)


@lessons.post(
    "/{session_id}/makeup-attendees",
    summary="A student joins this group lesson as a make-up (振替)",
)
def makeup_join(row: WritableSession, body: MakeupJoin, db: Db, who: StaffCaller) -> MakeupJoined:
    """Add the student to this group lesson with one of their make-up credits: the credit
    is used and the seat taken in one transaction. A full lesson (its capacity plus the
    make-up seats of the branch's group policy), a student already in it or busy at that
    time, and a credit that cannot be used are refused, naming why."""
    done = group_makeup.join(
        db, row.id, student_id=body.student_id, credit_id=body.credit_id, actor=who.actor
    )
    return MakeupJoined(
        session=read_sessions(db, [done], viewer=who)[0],
        student_ids=queries.attendees(db, [done.id]).get(done.id, []),
        credit_id=body.credit_id,
    )
