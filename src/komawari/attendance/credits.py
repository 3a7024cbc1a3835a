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

from sqlalchemy import ScalarSelect, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, aliased

from komawari.attendance import policies
from komawari.attendance.enums import EntryKind
from komawari.attendance.models import Credit, CreditEntry
from komawari.attendance.policies import Policy
from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.errors import InvalidInput, NotFound
from komawari.scheduling import clock
from komawari.sessions.models import ClassSession, SessionAttendee
from komawari.words import say


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


def issue(
    db: Session, lesson: ClassSession, student_id: int, actor: Actor, *, policy: Policy
) -> Credit | None:
    """Issue the credit an absence earned under `policy`, once: None when it exists
    already or the student's month is at the policy's cap."""
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
    if policy.monthly_cap is not None and (issued or 0) >= policy.monthly_cap:
        return None
    made = db.execute(
        insert(Credit)
        .values(
            student_id=student_id,
            branch_id=lesson.branch_id,
            absence_session_id=lesson.id,
            absence_date=lesson.date,
            expires_on=policies.expires_on(policy, lesson.date),
            policy_version=policy.version,
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


def of_absences(db: Session, pairs: list[tuple[int, int]]) -> dict[tuple[int, int], Credit]:
    """The credits absences earned, by (lesson id, student id): one query."""
    if not pairs:
        return {}
    found = db.scalars(
        select(Credit).where(tuple_(Credit.absence_session_id, Credit.student_id).in_(pairs))
    )
    return {(c.absence_session_id, c.student_id): c for c in found}


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


def use(
    db: Session,
    credit_id: int,
    lesson: ClassSession,
    actor: Actor,
    *,
    student_id: int | None = None,
) -> None:
    """Use a credit for a make-up lesson, in the booking's transaction: the lesson's own
    student's, or (a group lesson joined) `student_id`'s."""
    credit = locked(db, credit_id)
    now = state(db, credit)
    student = lesson.student_id if student_id is None else student_id
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
    _fits(db, credit, lesson)
    _entry(db, credit, EntryKind.USE, -1, actor, use_no=now.uses + 1, session_id=lesson.id)


def _fits(db: Session, credit: Credit, lesson: ClassSession) -> None:
    """Refuse a make-up of another kind or length than the lesson missed, when the policy
    that issued the credit asks for the same."""
    missed = db.get_one(ClassSession, credit.absence_session_id)
    policy = policies.version(
        db, branch_id=credit.branch_id, kind=missed.kind, number=credit.policy_version
    )
    if not policy.same_kind_and_length:
        return
    if lesson.kind != missed.kind:
        raise InvalidInput(
            "credit_id",
            say("credit.other-kind", "a make-up must be the same kind of lesson as the one missed"),
        )
    if _minutes(lesson) != _minutes(missed):
        raise InvalidInput(
            "end_time",
            say(
                "credit.other-length",
                "a make-up lasts as long as the lesson missed: %(minutes)s minutes",
                minutes=_minutes(missed),
            ),
        )


def _minutes(lesson: ClassSession) -> int:
    return int((lesson.ends_at - lesson.starts_at).total_seconds() // 60)


def release(db: Session, lesson: ClassSession, actor: Actor) -> list[int]:
    """A make-up lesson was cancelled: each credit it used is given back (once per use).
    Return the credits released."""
    return release_lessons(db, [lesson.id], actor)


def release_lessons(db: Session, lesson_ids: list[int], actor: Actor) -> list[int]:
    """Make-up lessons were cancelled (one by one, or by a closure): each credit they used
    is given back, once per use. A credit flagged (the attendance that earned it was
    corrected after it was used) is revoked once it is back: it cannot be used again.
    Return the credits released."""
    if not lesson_ids:
        return []
    used = db.execute(
        select(CreditEntry.credit_id, CreditEntry.use_no, CreditEntry.session_id)
        .where(CreditEntry.session_id.in_(lesson_ids), CreditEntry.kind == EntryKind.USE)
        .order_by(CreditEntry.credit_id, CreditEntry.use_no)
    ).all()
    released = []
    for credit_id, use_no, lesson_id in used:
        credit = locked(db, credit_id)
        back = db.scalar(
            select(func.count()).where(
                CreditEntry.credit_id == credit_id,
                CreditEntry.kind == EntryKind.RELEASE,
                CreditEntry.use_no == use_no,
            )
        )
        if back:
            continue
        _entry(
            db,
            credit,
            EntryKind.RELEASE,
            1,
            actor,
            use_no=use_no,
            session_id=lesson_id,
            reason="the make-up lesson was cancelled",
        )
        released.append(credit_id)
        if credit.flagged_at is not None and not state(db, credit).ended:
            why = credit.flag_reason or "the attendance that earned it was corrected"
            _entry(db, credit, EntryKind.REVOKE, -1, actor, reason=why)
    return released


def made_up_with(db: Session, lesson_ids: list[int]) -> list[int]:
    """Those of the lessons that were booked with a credit (make-ups), one query."""
    if not lesson_ids:
        return []
    return list(
        db.scalars(
            select(CreditEntry.session_id)
            .where(CreditEntry.session_id.in_(lesson_ids), CreditEntry.kind == EntryKind.USE)
            .distinct()
        )
    )


def use_again(db: Session, lesson: ClassSession, actor: Actor) -> None:
    """A cancelled make-up lesson is restored: it uses its credits again (a group lesson
    one per make-up student in it), or the restore is refused (a credit is in use by
    another lesson, has ended, or expires before it)."""
    used = db.execute(
        select(CreditEntry.credit_id, Credit.student_id)
        .join(Credit, Credit.id == CreditEntry.credit_id)
        .where(CreditEntry.session_id == lesson.id, CreditEntry.kind == EntryKind.USE)
        .distinct()
        .order_by(CreditEntry.credit_id)
    ).all()
    seated = set(
        db.scalars(
            select(SessionAttendee.student_id).where(SessionAttendee.session_id == lesson.id)
        )
    )
    try:
        for credit_id, student_id in used:
            if lesson.student_id is None and student_id not in seated:
                continue  # taken out of the group since: nothing to make up there
            use(db, credit_id, lesson, actor, student_id=student_id)
    except InvalidInput as exc:
        raise InvalidInput(
            "status",
            say(
                "credit.gone-for-restore",
                "this make-up lesson's credit is now used by another lesson or can no "
                "longer be used; book the lesson again, without it or with another credit",
            ),
        ) from exc


def expire_due(
    db: Session, today: date, actor: Actor, *, branch_id: int | None = None
) -> list[int]:
    """Expire the credits whose last day is before `today`, unused and not ended; a credit
    in use by a make-up lesson does not expire. Idempotent: run it as often as you like.
    `branch_id`: only that branch's credits (`today` is then the branch's own day).
    Return the credits expired."""
    mine = [] if branch_id is None else [Credit.branch_id == branch_id]
    due = db.scalars(
        select(Credit.id)
        .where(
            *mine,
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


def makes_up() -> ScalarSelect[int]:
    """SQL, correlated to `ClassSession`: the absent lesson a make-up lesson makes up (by
    its credit's use, not released since), else NULL. The lesson's memory of its absence
    is the ledger itself."""
    released = aliased(CreditEntry)
    return (
        select(Credit.absence_session_id)
        .join(CreditEntry, CreditEntry.credit_id == Credit.id)
        .where(
            CreditEntry.session_id == ClassSession.id,
            CreditEntry.kind == EntryKind.USE,
            ~select(released.id)
            .where(
                released.credit_id == CreditEntry.credit_id,
                released.kind == EntryKind.RELEASE,
                released.use_no == CreditEntry.use_no,
            )
            .exists(),
        )
        .order_by(CreditEntry.id.desc())
        .limit(1)
        .correlate(ClassSession)
        .scalar_subquery()
    )


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
