"""Make-up (振替) policies: per branch and kind of lesson, versioned.

A policy says which absences earn a credit (and by when the notice must come), how long a
credit lasts, how many a student may earn in a month, whether a make-up must be the same
kind and length as the lesson missed, and how many make-up seats a group lesson adds
above its capacity. Setting one writes a new version; a version applies to absences from
lessons that start after it was made, and every credit records the version that issued
it. A branch with no version has the built-in default (version 0, `DEFAULT`).

The rules themselves (`earns`, `expires_on`) are plain functions over plain values.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from komawari.attendance.enums import AttendanceState
from komawari.attendance.models import CreditPolicy
from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.scheduling.timerules import zone
from komawari.series.enums import SeriesKind
from komawari.sessions.models import ClassSession

# The states a policy may reward: absences only (a present student earns nothing).
ABSENCES = (
    AttendanceState.ABSENT_NOTIFIED,
    AttendanceState.ABSENT,
    AttendanceState.SCHOOL_CANCELLED,
)


@dataclass(frozen=True)
class Policy:
    """One version of a policy, as the rules read it."""

    version: int
    earning_states: frozenset[AttendanceState]
    notice_by: time | None  # None: before the lesson starts; else by this time that day
    expiry_days: int | None  # None: the end of the month after the absence's
    monthly_cap: int | None  # None: no cap
    same_kind_and_length: bool
    makeup_seats: int


# The built-in policy: an absence notified before the lesson starts earns one credit,
# valid until the end of the next month, at most 2 a month; a make-up is the same kind
# and length; no extra seats.
DEFAULT = Policy(
    version=0,
    earning_states=frozenset({AttendanceState.ABSENT_NOTIFIED}),
    notice_by=None,
    expiry_days=None,
    monthly_cap=2,
    same_kind_and_length=True,
    makeup_seats=0,
)


def end_of_next_month(day: date) -> date:
    """The last day of the month after `day`'s."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, calendar.monthrange(year, month)[1])


def expires_on(policy: Policy, absence_day: date) -> date:
    """The last day a credit earned by an absence on `absence_day` can be used."""
    if policy.expiry_days is None:
        return end_of_next_month(absence_day)
    return absence_day + timedelta(days=policy.expiry_days)


def notice_deadline(policy: Policy, *, day: date, starts_at: datetime, zone_name: str) -> datetime:
    """The last instant a notice of absence is in time: before the lesson starts, and
    (with `notice_by`) by that local time of the lesson's day, whichever comes first."""
    if policy.notice_by is None:
        return starts_at
    by = datetime.combine(day, policy.notice_by, tzinfo=zone(zone_name))
    return min(starts_at, by)


def earns(
    policy: Policy,
    *,
    state: AttendanceState,
    notified_at: datetime | None,
    day: date,
    starts_at: datetime,
    zone_name: str,
) -> bool:
    """Tell whether a mark earns a credit under `policy`: its state is one the policy
    rewards, and an absence with notice was notified in time (strictly before the
    lesson's start; at or before `notice_by` on its day)."""
    if state not in policy.earning_states:
        return False
    if state != AttendanceState.ABSENT_NOTIFIED:
        return True
    if notified_at is None:
        return False
    if notified_at >= starts_at:
        return False
    return notified_at <= notice_deadline(policy, day=day, starts_at=starts_at, zone_name=zone_name)


def _policy(row: CreditPolicy) -> Policy:
    return Policy(
        version=row.version,
        earning_states=frozenset(AttendanceState(s) for s in row.earning_states),
        notice_by=row.notice_by,
        expiry_days=row.expiry_days,
        monthly_cap=row.monthly_cap,
        same_kind_and_length=row.same_kind_and_length,
        makeup_seats=row.makeup_seats,
    )


def for_lesson(db: Session, lesson: ClassSession) -> Policy:
    """The policy an absence from `lesson` falls under: the latest version of its branch
    and kind made before the lesson starts, else the default."""
    row = db.scalar(
        select(CreditPolicy)
        .where(
            CreditPolicy.branch_id == lesson.branch_id,
            CreditPolicy.lesson_kind == lesson.kind.value,
            CreditPolicy.created_at < lesson.starts_at,
        )
        .order_by(CreditPolicy.version.desc())
        .limit(1)
    )
    return _policy(row) if row else DEFAULT


def for_lessons(db: Session, lessons: list[ClassSession]) -> dict[int, Policy]:
    """`for_lesson` of each lesson, by id: one query over their branches' versions."""
    versions = list(
        db.scalars(
            select(CreditPolicy)
            .where(CreditPolicy.branch_id.in_({lesson.branch_id for lesson in lessons}))
            .order_by(CreditPolicy.version.desc())
        )
    )
    found = {}
    for lesson in lessons:
        row = next(
            (
                v
                for v in versions
                if v.branch_id == lesson.branch_id
                and v.lesson_kind == lesson.kind.value
                and v.created_at < lesson.starts_at
            ),
            None,
        )
        found[lesson.id] = _policy(row) if row else DEFAULT
    return found


def version(db: Session, *, branch_id: int, kind: SeriesKind, number: int) -> Policy:
    """The policy version `number` of a branch and kind (0: the default)."""
    if number == 0:
        return DEFAULT
    row = db.scalar(
        select(CreditPolicy).where(
            CreditPolicy.branch_id == branch_id,
            CreditPolicy.lesson_kind == kind.value,
            CreditPolicy.version == number,
        )
    )
    return _policy(row) if row else DEFAULT


def current(db: Session, branch_id: int) -> dict[SeriesKind, tuple[Policy, CreditPolicy | None]]:
    """The policy in force now for each kind of lesson, with its row (None: default)."""
    out: dict[SeriesKind, tuple[Policy, CreditPolicy | None]] = {}
    for kind in SeriesKind:
        row = db.scalar(
            select(CreditPolicy)
            .where(CreditPolicy.branch_id == branch_id, CreditPolicy.lesson_kind == kind.value)
            .order_by(CreditPolicy.version.desc())
            .limit(1)
        )
        out[kind] = (_policy(row), row) if row else (DEFAULT, None)
    return out


def history(db: Session, branch_id: int) -> list[CreditPolicy]:
    """Every version of the branch's policies, newest first."""
    return list(
        db.scalars(
            select(CreditPolicy)
            .where(CreditPolicy.branch_id == branch_id)
            .order_by(CreditPolicy.created_at.desc(), CreditPolicy.id.desc())
        )
    )


def set_policy(
    db: Session, branch_id: int, kind: SeriesKind, wanted: Policy, *, actor: Actor
) -> CreditPolicy:
    """Write the next version of a branch's policy for one kind of lesson (versions of a
    branch and kind are numbered one by one, under a lock)."""
    db.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"credit policy {branch_id} {kind.value}"},
    )
    last = db.scalar(
        select(func.max(CreditPolicy.version)).where(
            CreditPolicy.branch_id == branch_id, CreditPolicy.lesson_kind == kind.value
        )
    )
    row = CreditPolicy(
        branch_id=branch_id,
        lesson_kind=kind.value,
        version=(last or 0) + 1,
        earning_states=sorted(s.value for s in wanted.earning_states),
        notice_by=wanted.notice_by,
        expiry_days=wanted.expiry_days,
        monthly_cap=wanted.monthly_cap,
        same_kind_and_length=wanted.same_kind_and_length,
        makeup_seats=wanted.makeup_seats,
        created_by=actor.name,
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="credit_policy.set",
        subject_type="branch",
        subject_id=branch_id,
        branch_id=branch_id,
        details={
            "lesson_kind": kind.value,
            "version": row.version,
            "earning_states": row.earning_states,
            "notice_by": row.notice_by.strftime("%H:%M") if row.notice_by else None,
            "expiry_days": row.expiry_days,
            "monthly_cap": row.monthly_cap,
            "same_kind_and_length": row.same_kind_and_length,
            "makeup_seats": row.makeup_seats,
        },
    )
    return row
