"""/api: mark a lesson's attendance; read a student's make-up credits."""

from __future__ import annotations

from komawari.attendance import credits, service
from komawari.attendance.schemas import (
    CreditRead,
    CreditsRead,
    EntryRead,
    MarkRead,
    Marks,
    MarksResult,
)
from komawari.auth.dependencies import OwnBranchIds, ReadableStudent, WritableSession
from komawari.web.deps import Caller, Db
from komawari.web.routing import api_router

lessons = api_router("/class-sessions", "attendance")
students = api_router("/students", "attendance")
routers = (lessons, students)


@lessons.post("/{session_id}/attendance", summary="Mark attendance (or an absence notice)")
def mark_attendance(row: WritableSession, body: Marks, db: Db, who: Caller) -> MarksResult:
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
