"""Make-up credits as test rows: an absent lesson booked through the service, its credit
issued with the last day a test wants, and make-up lessons that use one."""

from __future__ import annotations

import itertools
from datetime import date

from sqlalchemy.orm import Session

from komawari.attendance.enums import EntryKind
from komawari.attendance.models import Credit, CreditEntry
from komawari.sessions.models import ClassSession
from tests.factories import bookings

_slot = itertools.count()


def lesson(
    db: Session, *, branch_id: int, teacher_id: int, student_id: int, day: date, **extra: object
) -> ClassSession:
    """Book a private one-off lesson at a time of its own (08:00-08:20, 08:30-08:50, ...)."""
    n = next(_slot) % 28
    start = 8 * 60 + 30 * n
    return bookings.one_off(
        db,
        branch_id=branch_id,
        teacher_id=teacher_id,
        student_id=student_id,
        date=day.isoformat(),
        start_time=f"{start // 60:02d}:{start % 60:02d}",
        end_time=f"{start // 60:02d}:{start % 60 + 20:02d}",
        **extra,
    )


def credit(
    db: Session,
    *,
    branch_id: int,
    teacher_id: int,
    student_id: int,
    absence: date,
    expires_on: date,
) -> Credit:
    """Issue a credit for an absence on `absence` whose last day is `expires_on` (no
    monthly cap: the policy's own tests check the cap)."""
    absent = lesson(
        db, branch_id=branch_id, teacher_id=teacher_id, student_id=student_id, day=absence
    )
    row = Credit(
        student_id=student_id,
        branch_id=branch_id,
        absence_session_id=absent.id,
        absence_date=absence,
        expires_on=expires_on,
        policy_version=0,
    )
    db.add(row)
    db.flush()
    db.add(
        CreditEntry(
            credit_id=row.id, kind=EntryKind.ISSUE, amount=1, session_id=absent.id, actor="test"
        )
    )
    db.flush()
    return row


def make_up(db: Session, row: Credit, *, teacher_id: int, day: date) -> ClassSession:
    """Book a make-up lesson with the credit (it is used in the booking's transaction)."""
    return lesson(
        db,
        branch_id=row.branch_id,
        teacher_id=teacher_id,
        student_id=row.student_id,
        day=day,
        credit_id=row.id,
    )
