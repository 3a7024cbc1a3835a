"""Outstanding make-up (振替) credits: who can still book a make-up, with which credit,
until when; which credits run out soon; which were flagged for staff.

A credit is **usable** on a day when its ledger balance (the sum of its entries) is
positive and its last day has not passed: issued or given back, not in use, not expired,
not revoked, and `expires_on >= today`. "Today" is the branch's (`clock.branch_today`): a
list of one branch takes its day; a student's credits, each its own branch's day.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Date, Integer, case, func, literal, select, type_coerce
from sqlalchemy.orm import Session

from komawari.attendance import expiry
from komawari.attendance.enums import EntryKind
from komawari.attendance.models import Credit, CreditEntry
from komawari.people.models import Student

# "Expiring soon": the last day is at most this many days away (today counts as 0).
SOON_DAYS = 14
# The longest "expiring within" a listing takes: a credit lasts two months at most by the
# default policy; a year leaves room for any other.
MAX_WITHIN_DAYS = 366


@dataclass(frozen=True)
class Usable:
    """A credit a make-up lesson can still be booked with."""

    id: int
    student_id: int
    student_name: str
    branch_id: int
    absence_session_id: int
    absence_date: date
    expires_on: date
    days_left: int  # 0: its last day is today
    flagged: bool

    @property
    def soon(self) -> bool:
        """Its last day is at most SOON_DAYS away."""
        return self.days_left <= SOON_DAYS


@dataclass(frozen=True)
class StudentCredits:
    """A student's usable credits, and their balance: the sum of the ledger's entries of
    their credits at the branches asked about."""

    student_id: int
    student_name: str
    balance: int
    credits: list[Usable]


@dataclass(frozen=True)
class Flagged:
    """A credit whose absence was corrected after it was used: staff decide."""

    id: int
    student_id: int
    student_name: str
    absence_session_id: int
    absence_date: date
    expires_on: date
    flagged_at: datetime
    flag_reason: str | None
    balance: int


@dataclass(frozen=True)
class Outstanding:
    """The usable credits per student, those expiring soon, and the flagged ones."""

    today: date
    expiring_within_days: int | None
    students: list[StudentCredits]
    expiring: list[Usable]
    flagged: list[Flagged]

    @property
    def count(self) -> int:
        """How many usable credits are listed."""
        return sum(len(s.credits) for s in self.students)

    def by_month(self) -> dict[date, int]:
        """Usable credits per month of their last day (the first of the month as key),
        every month from the first to the last one, in order."""
        months = Counter(c.expires_on.replace(day=1) for s in self.students for c in s.credits)
        if not months:
            return {}
        first, last = min(months), max(months)
        out: dict[date, int] = {}
        while first <= last:
            out[first] = months.get(first, 0)
            first = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return out


def _day(today: date | Mapping[int, date]) -> ColumnElement[date]:
    """Today as SQL: one date, or each credit's branch's date."""
    if isinstance(today, date):
        return literal(today, Date)
    return case(dict(today), value=Credit.branch_id)


def _usable(
    db: Session,
    where: Sequence[ColumnElement[bool]],
    today: date | Mapping[int, date],
    within: int | None = None,
) -> list[Usable]:
    day = _day(today)
    left = type_coerce(Credit.expires_on - day, Integer)  # PostgreSQL: date - date is days
    query = (
        select(Credit, Student.name, left)
        .join(CreditEntry, CreditEntry.credit_id == Credit.id)
        .join(Student, Student.id == Credit.student_id)
        .where(*where, Credit.expires_on >= day)
        .group_by(Credit.id, Student.id)
        .having(func.sum(CreditEntry.amount) > 0)
        .order_by(Student.name, Student.id, Credit.expires_on, Credit.id)
    )
    if within is not None:
        query = query.where(left <= within)
    return [
        Usable(
            id=c.id,
            student_id=c.student_id,
            student_name=name,
            branch_id=c.branch_id,
            absence_session_id=c.absence_session_id,
            absence_date=c.absence_date,
            expires_on=c.expires_on,
            days_left=int(days),
            flagged=c.flagged_at is not None,
        )
        for c, name, days in db.execute(query).all()
    ]


def _mine(branch_ids: Sequence[int] | None) -> list[ColumnElement[bool]]:
    return [] if branch_ids is None else [Credit.branch_id.in_(list(branch_ids))]


def _balances(
    db: Session, student_ids: set[int], branch_ids: Sequence[int] | None
) -> dict[int, int]:
    if not student_ids:
        return {}
    rows = db.execute(
        select(Credit.student_id, func.sum(CreditEntry.amount))
        .join(CreditEntry, CreditEntry.credit_id == Credit.id)
        .where(Credit.student_id.in_(student_ids), *_mine(branch_ids))
        .group_by(Credit.student_id)
    ).all()
    return {student: int(total or 0) for student, total in rows}


def _per_student(
    db: Session, usable: list[Usable], branch_ids: Sequence[int] | None
) -> list[StudentCredits]:
    balances = _balances(db, {c.student_id for c in usable}, branch_ids)
    out: dict[int, StudentCredits] = {}
    for c in usable:  # in the query's order: by name, then soonest expiry
        if c.student_id not in out:
            out[c.student_id] = StudentCredits(
                c.student_id, c.student_name, balances.get(c.student_id, 0), []
            )
        out[c.student_id].credits.append(c)
    return list(out.values())


def flagged(db: Session, branch_ids: Sequence[int] | None) -> list[Flagged]:
    """The flagged credits not yet ended (expired or revoked), oldest flag first."""
    ended = func.count(CreditEntry.id).filter(
        CreditEntry.kind.in_([EntryKind.EXPIRE, EntryKind.REVOKE])
    )
    rows = db.execute(
        select(Credit, Student.name, func.sum(CreditEntry.amount))
        .join(CreditEntry, CreditEntry.credit_id == Credit.id)
        .join(Student, Student.id == Credit.student_id)
        .where(Credit.flagged_at.is_not(None), *_mine(branch_ids))
        .group_by(Credit.id, Student.id)
        .having(ended == 0)
        .order_by(Credit.flagged_at, Credit.id)
    ).all()
    return [
        Flagged(
            id=c.id,
            student_id=c.student_id,
            student_name=name,
            absence_session_id=c.absence_session_id,
            absence_date=c.absence_date,
            expires_on=c.expires_on,
            flagged_at=c.flagged_at,
            flag_reason=c.flag_reason,
            balance=int(total or 0),
        )
        for c, name, total in rows
        if c.flagged_at is not None  # always: the query asks for flagged credits
    ]


def outstanding(
    db: Session,
    branch_ids: Sequence[int] | None,
    *,
    today: date,
    expiring_within_days: int | None = None,
) -> Outstanding:
    """The usable credits at `branch_ids` (None: every branch) on `today`, per student
    (only those whose last day is at most `expiring_within_days` away, when given); the
    ones expiring within SOON_DAYS; and the flagged ones."""
    mine = _mine(branch_ids)
    listed = _usable(db, mine, today, expiring_within_days)
    soon = _usable(db, mine, today, SOON_DAYS)
    soon.sort(key=lambda c: (c.expires_on, c.student_name, c.id))
    return Outstanding(
        today=today,
        expiring_within_days=expiring_within_days,
        students=_per_student(db, listed, branch_ids),
        expiring=soon,
        flagged=flagged(db, branch_ids),
    )


def for_student(db: Session, student_id: int, branch_ids: Sequence[int] | None) -> StudentCredits:
    """A student's balance and usable credits (earned at `branch_ids`; None: any), soonest
    expiry first, each on its own branch's today: what the student's week shows."""
    days = expiry.branch_days(db)
    usable = (
        _usable(db, [Credit.student_id == student_id, *_mine(branch_ids)], days) if days else []
    )
    balance = _balances(db, {student_id}, branch_ids).get(student_id, 0)
    return StudentCredits(student_id, db.get_one(Student, student_id).name, balance, usable)
