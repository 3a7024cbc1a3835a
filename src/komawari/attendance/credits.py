"""The make-up (振替) credit ledger: issue, use, release, revoke, flag, and balances.

Every change is an entry; a balance is the sum of a student's entries. The guards in
`attendance/models.py` make a double issue or a double use impossible in PostgreSQL; the
functions here also lock what they decide on, so that a refusal is a clear error rather
than a guard's: a credit row is locked (`FOR UPDATE`) before its state is read and an
entry written, and a student's month is locked (an advisory lock) before its credits are
counted against the cap.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from komawari.attendance.enums import EntryKind
from komawari.attendance.models import Credit, CreditEntry
from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.errors import InvalidInput, NotFound
from komawari.scheduling import clock
from komawari.sessions.models import ClassSession
from komawari.words import say

# The built-in policy (version 0): an absence notified before the lesson starts earns one
# credit, valid until the end of the next month, at most MONTHLY_CAP a month.
DEFAULT_POLICY_VERSION = 0
MONTHLY_CAP = 2


def end_of_next_month(day: date) -> date:
    """The last day of the month after `day`'s."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, calendar.monthrange(year, month)[1])


@dataclass(frozen=True)
class CreditState:
    """A credit as its entries make it."""

    credit: Credit
    balance: int  # 1: can be used; 0: in use, spent, expired or revoked
    uses: int
    releases: int
    ended: bool  # expired or revoked

    @property
    def in_use(self) -> bool:
        return self.uses > self.releases


def state(db: Session, credit: Credit) -> CreditState:
    """Read a credit's entries (lock the credit first to decide on them)."""
    rows = db.execute(
        select(CreditEntry.kind, func.count(), func.sum(CreditEntry.amount))
        .where(CreditEntry.credit_id == credit.id)
        .group_by(CreditEntry.kind)
    ).all()
    counts = {k: int(n) for k, n, _ in rows}
    balance = sum(int(total or 0) for _, _, total in rows)
    return CreditState(
        credit,
        balance,
        counts.get(EntryKind.USE, 0),
        counts.get(EntryKind.RELEASE, 0),
        bool(counts.get(EntryKind.EXPIRE, 0) or counts.get(EntryKind.REVOKE, 0)),
    )


def _entry(
    db: Session,
    credit: Credit,
    kind: EntryKind,
    amount: int,
    actor: Actor,
    *,
    use_no: int | None = None,
    session_id: int | None = None,
    reason: str | None = None,
) -> None:
    db.add(
        CreditEntry(
            credit_id=credit.id,
            kind=kind,
            amount=amount,
            use_no=use_no,
            session_id=session_id,
            reason=reason,
            actor=actor.name,
        )
    )
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=f"credit.{kind.value}",
        subject_type="student",
        subject_id=credit.student_id,
        branch_id=credit.branch_id,
        reason=reason,
        details={"credit_id": credit.id, "session_id": session_id, "use_no": use_no},
    )


def issue(db: Session, lesson: ClassSession, student_id: int, actor: Actor) -> Credit | None:
    """Issue the credit an absence earned, once: None when it exists already or the
    student's month is at its cap."""
    db.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"credit cap {student_id} {lesson.date:%Y-%m}"},
    )
    first = lesson.date.replace(day=1)
    issued = db.scalar(
        select(func.count())
        .select_from(Credit)
        .where(
            Credit.student_id == student_id,
            Credit.absence_date >= first,
            Credit.absence_date <= end_of_month(first),
        )
    )
    if (issued or 0) >= MONTHLY_CAP:
        return None
    made = db.execute(
        insert(Credit)
        .values(
            student_id=student_id,
            branch_id=lesson.branch_id,
            absence_session_id=lesson.id,
            absence_date=lesson.date,
            expires_on=end_of_next_month(lesson.date),
            policy_version=DEFAULT_POLICY_VERSION,
        )
        .on_conflict_do_nothing(index_elements=["student_id", "absence_session_id"])
        .returning(Credit.id)
    ).scalar_one_or_none()
    if made is None:
        return None
    credit = db.get_one(Credit, made)
    _entry(db, credit, EntryKind.ISSUE, 1, actor, session_id=lesson.id)
    return credit


def end_of_month(first: date) -> date:
    """The last day of `first`'s month."""
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def of_absence(db: Session, lesson_id: int, student_id: int) -> Credit | None:
    """The credit an absence earned, if any."""
    return db.scalar(
        select(Credit).where(
            Credit.absence_session_id == lesson_id, Credit.student_id == student_id
        )
    )


def locked(db: Session, credit_id: int) -> Credit:
    """The credit, locked for this transaction's decision."""
    credit = db.scalar(select(Credit).where(Credit.id == credit_id).with_for_update())
    if credit is None:
        raise NotFound(say("credit.not-found", "there is no credit number %(id)s", id=credit_id))
    return credit


def take_back(db: Session, credit: Credit, actor: Actor, why: str) -> str:
    """The attendance that earned a credit was corrected: revoke it if unused (a use that
    was released counts as unused), else flag it for staff: nothing is silently lost.
    Return "revoked", "flagged" or "ended" (nothing left to take)."""
    credit = locked(db, credit.id)
    now = state(db, credit)
    if now.ended:
        return "ended"
    if now.in_use:
        if credit.flagged_at is None:
            credit.flagged_at = clock.db_now(db)
            credit.flag_reason = why
            audit.record(
                db,
                actor=actor,
                action="credit.flag",
                subject_type="student",
                subject_id=credit.student_id,
                branch_id=credit.branch_id,
                reason=why,
                details={"credit_id": credit.id},
            )
        return "flagged"
    _entry(db, credit, EntryKind.REVOKE, -1, actor, reason=why)
    return "revoked"


def use(db: Session, credit_id: int, lesson: ClassSession, actor: Actor) -> None:
    """Use a credit for a make-up lesson, in the booking's transaction."""
    credit = locked(db, credit_id)
    now = state(db, credit)
    student = lesson.student_id
    if student != credit.student_id:
        raise InvalidInput(
            "credit_id", say("credit.other-student", "this credit belongs to another student")
        )
    if now.ended:
        raise InvalidInput(
            "credit_id", say("credit.ended", "this credit has expired or was revoked")
        )
    if now.in_use:
        raise InvalidInput("credit_id", say("credit.in-use", "this credit is already used"))
    if lesson.date > credit.expires_on:
        raise InvalidInput(
            "credit_id",
            say(
                "credit.expires-before",
                "this credit expires on %(day)s, before the lesson",
                day=credit.expires_on,
            ),
        )
    _entry(db, credit, EntryKind.USE, -1, actor, use_no=now.uses + 1, session_id=lesson.id)


def release(db: Session, lesson: ClassSession, actor: Actor) -> list[int]:
    """A make-up lesson was cancelled: each credit it used is given back (once per use).
    Return the credits released."""
    used = db.execute(
        select(CreditEntry.credit_id, CreditEntry.use_no).where(
            CreditEntry.session_id == lesson.id, CreditEntry.kind == EntryKind.USE
        )
    ).all()
    released = []
    for credit_id, use_no in used:
        credit = locked(db, credit_id)
        back = db.scalar(
            select(func.count()).where(
                CreditEntry.credit_id == credit_id,
                CreditEntry.kind == EntryKind.RELEASE,
                CreditEntry.use_no == use_no,
            )
        )
        if not back:
            _entry(
                db,
                credit,
                EntryKind.RELEASE,
                1,
                actor,
                use_no=use_no,
                session_id=lesson.id,
                reason="the make-up lesson was cancelled",
            )
            released.append(credit_id)
    return released


def expire_due(db: Session, today: date, actor: Actor) -> list[int]:
    """Expire the credits whose last day is before `today`, unused and not ended; a credit
    in use by a make-up lesson does not expire. Idempotent: run it as often as you like.
    Return the credits expired."""
    due = db.scalars(
        select(Credit.id)
        .where(
            Credit.expires_on < today,
            ~select(CreditEntry.id)
            .where(
                CreditEntry.credit_id == Credit.id,
                CreditEntry.kind.in_([EntryKind.EXPIRE, EntryKind.REVOKE]),
            )
            .exists(),
        )
        .order_by(Credit.id)
    ).all()
    expired = []
    for credit_id in due:
        credit = locked(db, credit_id)
        now = state(db, credit)
        if not now.ended and not now.in_use:
            _entry(
                db, credit, EntryKind.EXPIRE, -1, actor, reason=f"unused after {credit.expires_on}"
            )
            expired.append(credit_id)
    return expired


@dataclass(frozen=True)
class Balance:
    """A student's credits: the balance (the sum of every entry) and each entry."""

    balance: int
    entries: list[CreditEntry]
    credits: list[Credit]


def balance(db: Session, student_id: int, branch_ids: list[int] | None = None) -> Balance:
    """The student's balance, always the sum of their entries (of the credits earned at
    `branch_ids`, the caller's branches; None: every branch)."""
    mine = [Credit.student_id == student_id]
    if branch_ids is not None:
        mine.append(Credit.branch_id.in_(branch_ids))
    credits = list(db.scalars(select(Credit).where(*mine).order_by(Credit.id)))
    entries = list(
        db.scalars(
            select(CreditEntry)
            .join(Credit, Credit.id == CreditEntry.credit_id)
            .where(*mine)
            .order_by(CreditEntry.id)
        )
    )
    return Balance(sum(e.amount for e in entries), entries, credits)
