"""Branches and closure days (holidays): adding one cancels that day, removing refills it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from komawari.attendance import credits
from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.branches import sql, zones
from komawari.branches.models import CLOSURE_GUARD, Branch, BranchClosure
from komawari.config import get_settings
from komawari.db import errors as db_errors
from komawari.errors import Conflict, InvalidInput, NotFound
from komawari.generation import service as generation
from komawari.generation.enums import RunTrigger
from komawari.scheduling.timerules import today_in
from komawari.sessions import locks, reevaluate
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from komawari.words import say

CLOSED = "branch_closed"


def get(db: Session, branch_id: int) -> Branch:
    """Return the branch, or raise NotFound."""
    branch = db.get(Branch, branch_id)
    if branch is None:
        raise NotFound(say("branch.not-found", "branch %(id)s does not exist", id=branch_id))
    return branch


def create(db: Session, *, name: str, time_zone: str | None, actor: Actor) -> Branch:
    """Create a branch in an IANA time zone (default: the configured one)."""
    name = name.strip()
    if not name:
        raise InvalidInput("name", say("name.blank", "must not be blank"))
    time_zone = zones.check(db, time_zone or get_settings().default_timezone)
    if db.scalar(select(Branch.id).where(Branch.name == name)) is not None:
        raise Conflict(
            say("branch.duplicate-name", "a branch called %(name)s already exists", name=name)
        )
    branch = Branch(name=name, time_zone=time_zone)
    db.add(branch)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="branch.create",
        subject_type="branch",
        subject_id=branch.id,
        branch_id=branch.id,
        details={"name": name, "time_zone": time_zone},
    )
    return branch


def list_branches(db: Session, *, ids: list[int] | None = None) -> list[Branch]:
    """List branches by id (only `ids` when given)."""
    query = select(Branch).order_by(Branch.id)
    if ids is not None:
        query = query.where(Branch.id.in_(ids))
    return list(db.scalars(query))


def closures(db: Session, branch_id: int) -> list[BranchClosure]:
    """List a branch's closure days."""
    return list(
        db.scalars(
            select(BranchClosure)
            .where(BranchClosure.branch_id == branch_id)
            .order_by(BranchClosure.date)
        )
    )


@dataclass
class ClosurePreview:
    """What adding a closure day would cancel."""

    branch_id: int
    date: date
    sessions: list[ClassSession]


def preview_closure(
    db: Session, branch_id: int, day: date, until: date | None = None
) -> ClosurePreview:
    """Show the live sessions that a closure on `day` (to `until`) would cancel; change
    nothing."""
    get(db, branch_id)
    rows = db.scalars(
        select(ClassSession)
        .where(
            ClassSession.branch_id == branch_id,
            ClassSession.date.between(day, until or day),
            ClassSession.status != SessionStatus.CANCELLED,
        )
        .order_by(ClassSession.date, ClassSession.start_time, ClassSession.id)
    )
    return ClosurePreview(branch_id, day, list(rows))


def add_closures(
    db: Session, branch_id: int, days: list[date], *, reason: str, actor: Actor
) -> list[int]:
    """Close a branch on each of `days` (all or none: a day already closed is named and
    nothing changes); return the sessions cancelled."""
    locks.lock_whole_schedule(db)
    get(db, branch_id)
    closed = db.scalars(
        select(BranchClosure.date)
        .where(BranchClosure.branch_id == branch_id, BranchClosure.date.in_(days))
        .order_by(BranchClosure.date)
    ).all()
    if closed:
        days_closed: date | str = closed[0] if len(closed) == 1 else ", ".join(map(str, closed))
        raise _already_closed(days_closed)
    return [i for day in days for i in add_closure(db, branch_id, day, reason=reason, actor=actor)]


def _already_closed(days: date | str) -> Conflict:
    """The refusal of a closure on a day (or days, listed) the branch is closed on."""
    return Conflict(
        say("closure.already-closed", "the branch is already closed on %(days)s", days=days)
    )


def add_closure(
    db: Session, branch_id: int, day: date, *, reason: str, actor: Actor, holiday: bool = False
) -> list[int]:
    """Close a branch on a day: its live sessions there are cancelled as `branch_closed`.

    `holiday`: the closure is the branch's "closed on national holidays" setting's.
    """
    locks.lock_whole_schedule(db)  # a branch's day, and generation of its series
    get(db, branch_id)
    row = BranchClosure(branch_id=branch_id, date=day, reason=reason, holiday=holiday)
    db_errors.guarded(
        db,
        lambda: db.add(row),
        lambda: _already_closed(day),
        CLOSURE_GUARD,
    )
    ids = list(
        db.scalars(
            update(ClassSession)
            .where(
                ClassSession.branch_id == branch_id,
                ClassSession.date == day,
                ClassSession.status != SessionStatus.CANCELLED,
            )
            .values(
                status=SessionStatus.CANCELLED,
                cancel_reason=CLOSED,
                cancelled_at=func.now(),
                conflicts_with=[],
            )
            .returning(ClassSession.id)
        )
    )
    reevaluate.evaluate(db, ids)
    credits.release_lessons(db, ids, actor)  # cancelled make-ups give their credits back
    audit.record(
        db,
        actor=actor,
        action="branch.closure.add",
        subject_type="branch",
        subject_id=branch_id,
        branch_id=branch_id,
        occurrence_date=day,
        reason=reason,
        details={"cancelled_session_ids": ids},
    )
    return ids


def remove_closure(
    db: Session, branch_id: int, day: date, *, actor: Actor, now: datetime | None = None
) -> dict[str, int]:
    """Reopen a day: sessions cancelled for the closure come back, generation fills the rest
    (never a day before the branch's today at `now`)."""
    locks.lock_whole_schedule(db)  # a branch's day, and generation of its series
    closure = db.scalar(
        select(BranchClosure).where(BranchClosure.branch_id == branch_id, BranchClosure.date == day)
    )
    if closure is None:
        raise NotFound(say("closure.not-found", "the branch has no closure on %(day)s", day=day))
    db.delete(closure)
    db.flush()
    restored = [
        int(r[0])
        for r in db.execute(
            text(sql.RESTORE_CLOSED),
            {"b": branch_id, "d": day, "reason": CLOSED},
        )
    ]
    kept = _makeups_without_credit(db, restored, actor)
    restored = [i for i in restored if i not in kept]
    reevaluate.evaluate(db, restored)
    filled = generation.generate_in(
        db,
        trigger=RunTrigger.LIFECYCLE,
        scope=generation.Scope(branch_id=branch_id, fill_date=day, now=now),
        actor=actor,
    )
    audit.record(
        db,
        actor=actor,
        action="branch.closure.remove",
        subject_type="branch",
        subject_id=branch_id,
        branch_id=branch_id,
        occurrence_date=day,
        details={
            "restored_session_ids": restored,
            "session_ids": kept,
            "created": filled.counts.created,
        },
    )
    return {"restored": len(restored), "created": filled.counts.created}


MAKEUP_CREDIT_GONE = "makeup_credit_gone"


def _makeups_without_credit(db: Session, restored: list[int], actor: Actor) -> list[int]:
    """The restored make-up lessons use their credits again; one whose credit was used by
    another lesson meanwhile (or ended) stays cancelled, and says why. Return those."""
    kept = []
    makeups = credits.made_up_with(db, restored)
    for lesson in db.scalars(select(ClassSession).where(ClassSession.id.in_(makeups))):
        point = db.begin_nested()
        try:
            credits.use_again(db, lesson, actor)
            point.commit()
        except InvalidInput:
            point.rollback()
            lesson.status, lesson.cancel_reason = SessionStatus.CANCELLED, MAKEUP_CREDIT_GONE
            lesson.cancelled_at, lesson.conflicts_with = func.now(), []
            kept.append(lesson.id)
    db.flush()
    return kept


def japan_holidays(year: int) -> list[tuple[date, str]]:
    """Return Japan's public holidays of `year` (the `jpholiday` package)."""
    import jpholiday

    if not 1955 <= year <= 2100:
        said = say("holidays.year-out-of-range", "must be between %(first)s and %(last)s",
                   first=1955, last=2100)  # fmt: skip
        raise InvalidInput("year", said)
    return [(d, str(name)) for d, name in jpholiday.year_holidays(year)]


HOLIDAY_DAYS = 730  # the setting closes the national holidays of the next two years


def coming_holidays(branch: Branch, now: datetime | None = None) -> list[tuple[date, str]]:
    """Japan's national holidays from the branch's today, two years ahead."""
    import jpholiday

    today = today_in(branch.time_zone, now)
    found = jpholiday.between(today, today + timedelta(days=HOLIDAY_DAYS))
    return [(d, str(name)) for d, name in found]


@dataclass(frozen=True)
class HolidayChange:
    """What turning the setting on or off does: the days closed or reopened, and the
    lessons cancelled (on) or brought back (off)."""

    days: list[tuple[date, str]]
    sessions: list[ClassSession]


def preview_holidays(
    db: Session, branch_id: int, *, closed: bool, now: datetime | None = None
) -> HolidayChange:
    """Say what `set_closed_on_holidays(closed)` would do; change nothing."""
    branch = get(db, branch_id)
    if closed:
        shut = {c.date for c in closures(db, branch_id)}
        days = [(d, n) for d, n in coming_holidays(branch, now) if d not in shut]
        live = ClassSession.status != SessionStatus.CANCELLED
    else:
        today = today_in(branch.time_zone, now)
        rows = db.scalars(
            select(BranchClosure)
            .where(
                BranchClosure.branch_id == branch_id,
                BranchClosure.holiday,
                BranchClosure.date >= today,
            )
            .order_by(BranchClosure.date)
        )
        days = [(c.date, c.reason) for c in rows]
        live = ClassSession.cancel_reason == CLOSED
    sessions = db.scalars(
        select(ClassSession)
        .where(
            ClassSession.branch_id == branch_id,
            ClassSession.date.in_([d for d, _ in days]),
            live,
        )
        .order_by(ClassSession.date, ClassSession.start_time, ClassSession.id)
    )
    return HolidayChange(days, list(sessions))


def set_closed_on_holidays(
    db: Session, branch_id: int, *, closed: bool, actor: Actor, now: datetime | None = None
) -> HolidayChange:
    """Turn the branch's "closed on national holidays" setting on (each holiday of the next
    two years becomes a closure, its lessons cancelled) or off (those closures from today
    on are removed, their lessons back)."""
    locks.lock_whole_schedule(db)
    branch = get(db, branch_id)
    if branch.closed_on_holidays == closed:
        raise InvalidInput(
            "closed",
            say("holidays.already-on", "the branch is closed on national holidays already")
            if closed
            else say("holidays.already-off", "the branch is open on national holidays already"),
        )
    change = preview_holidays(db, branch_id, closed=closed, now=now)
    for day, name in change.days:
        if closed:
            add_closure(db, branch_id, day, reason=name, actor=actor, holiday=True)
        else:
            remove_closure(db, branch_id, day, actor=actor, now=now)
    branch.closed_on_holidays = closed
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="branch.holidays",
        subject_type="branch",
        subject_id=branch_id,
        branch_id=branch_id,
        details={"closed": closed, "days": [d.isoformat() for d, _ in change.days]},
    )
    return change


def set_reminder_time(db: Session, branch_id: int, *, at: time, actor: Actor) -> Branch:
    """Set when the branch's day-before reminders go out (its zone); audited."""
    row = get(db, branch_id)
    was = row.reminder_time
    row.reminder_time = at.replace(second=0, microsecond=0)
    db.flush()
    minutes = {"from": was, "to": row.reminder_time}
    audit.record(
        db, actor=actor, action="branch.reminder_time", subject_type="branch",
        subject_id=branch_id, branch_id=branch_id,
        details={k: v.isoformat(timespec="minutes") for k, v in minutes.items()},
    )  # fmt: skip
    return row
