"""The series lifecycle: pause, resume, shorten or end, extend, change from a date.

Every function takes the session first, flushes but does not commit, holds the schedule
lock from its first change, and records what it did in the audit log.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.branches.models import Branch
from komawari.errors import DuplicateSeries, InvalidInput
from komawari.generation import service as generation
from komawari.generation.enums import RunTrigger
from komawari.scheduling.timerules import today_in
from komawari.scheduling.weekdays import to_mask
from komawari.series.enums import SeriesStatus
from komawari.series.models import ClassSeries, SeriesEnrolment
from komawari.series.schemas import SeriesChange
from komawari.series.service import check_refs, find_active_duplicate, get, insert_guarded
from komawari.sessions import locks, reevaluate
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession


def _cancel_sessions(
    db: Session, *, where: list[object], reason: str, actor: Actor, action: str
) -> list[int]:
    """Cancel the live sessions matching `where` with a reason; re-evaluate their neighbours."""
    ids = list(
        db.scalars(
            update(ClassSession)
            .where(ClassSession.status != SessionStatus.CANCELLED, *where)  # type: ignore[arg-type]
            .values(
                status=SessionStatus.CANCELLED,
                cancel_reason=reason,
                cancelled_at=func.now(),
                conflicts_with=[],
            )
            .returning(ClassSession.id)
        )
    )
    if ids:
        reevaluate.evaluate(db, ids)
        audit.record(
            db,
            actor=actor,
            action=action,
            subject_type="session",
            reason=reason,
            details={"session_ids": ids, "count": len(ids)},
        )
    return ids


def _today(db: Session, series: ClassSeries, now: datetime | None) -> date:
    branch = db.get(Branch, series.branch_id)
    assert branch is not None
    return today_in(branch.time_zone, now)


def pause(
    db: Session,
    series_id: int,
    *,
    actor: Actor,
    reason: str | None = None,
    cancel_future: bool = False,
    now: datetime | None = None,
) -> tuple[ClassSeries, list[int]]:
    """Pause a series: no more generation; future sessions kept unless asked to cancel them."""
    locks.lock_series(db, [series_id])
    series = get(db, series_id, reread=True)
    if series.status != SeriesStatus.ACTIVE:
        raise InvalidInput("status", f"series {series_id} is {series.status}, not ACTIVE")
    series.status, series.status_reason = SeriesStatus.PAUSED, reason
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="series.pause",
        subject_type="series",
        subject_id=series.id,
        branch_id=series.branch_id,
        series_id=series.id,
        reason=reason,
        details={"cancel_future": cancel_future},
    )
    if not cancel_future:
        return series, []
    return series, _cancel_sessions(
        db,
        where=[
            ClassSession.series_id == series.id,
            ClassSession.date >= _today(db, series, now),
        ],
        reason=f"series_paused{': ' + reason if reason else ''}",
        actor=actor,
        action="series.pause.cancel_sessions",
    )


def resume(
    db: Session, series_id: int, *, actor: Actor, now: datetime | None = None
) -> tuple[ClassSeries, generation.RunResult]:
    """Resume a paused series from today (never backfilling the past) and generate."""
    locks.lock_series(db, [series_id])
    series = get(db, series_id, reread=True)
    if series.status != SeriesStatus.PAUSED:
        raise InvalidInput("status", f"series {series_id} is {series.status}, not PAUSED")
    duplicate = find_active_duplicate(db, series)
    if duplicate is not None:
        raise DuplicateSeries(duplicate.id)
    yesterday = _today(db, series, now) - timedelta(days=1)
    series.status, series.status_reason = SeriesStatus.ACTIVE, None
    # Generation goes over the days from today on again, never the past: a day with a row
    # keeps it, and a day that was closed when generation passed it and reopened while the
    # series was paused (a reopened day is filled only for ACTIVE series) gets one.
    series.generated_through = yesterday
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="series.resume",
        subject_type="series",
        subject_id=series.id,
        branch_id=series.branch_id,
        series_id=series.id,
    )
    result = generation.generate_in(
        db,
        trigger=RunTrigger.LIFECYCLE,
        scope=generation.Scope(series_id=series.id, now=now),
        actor=actor,
    )
    db.refresh(series)  # generation moved its watermark in SQL
    return series, result


def end(
    db: Session,
    series_id: int,
    *,
    last_date: date,
    actor: Actor,
    reason: str | None = None,
    now: datetime | None = None,
) -> tuple[ClassSeries, list[int]]:
    """Shorten or end a series: sessions after the new last date are cancelled with a reason."""
    locks.lock_series(db, [series_id])
    series = get(db, series_id, reread=True)
    if series.status == SeriesStatus.ENDED:
        raise InvalidInput("status", f"series {series_id} is already ENDED")
    if series.last_date is not None and last_date > series.last_date:
        raise InvalidInput("last_date", "is later than the current last date; use extend")
    old_last = series.last_date
    if last_date < series.first_date:
        series.status = SeriesStatus.ENDED
    else:
        series.last_date = last_date
        if last_date < _today(db, series, now):
            series.status = SeriesStatus.ENDED
    series.status_reason = reason
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="series.end",
        subject_type="series",
        subject_id=series.id,
        branch_id=series.branch_id,
        series_id=series.id,
        reason=reason,
        details={"last_date": last_date.isoformat(), "previous_last_date": str(old_last)},
    )
    return series, _cancel_sessions(
        db,
        where=[ClassSession.series_id == series.id, ClassSession.original_date > last_date],
        reason=f"series_ended{': ' + reason if reason else ''}",
        actor=actor,
        action="series.end.cancel_sessions",
    )


def extend(
    db: Session,
    series_id: int,
    *,
    last_date: date | None,
    actor: Actor,
    trigger: RunTrigger = RunTrigger.EXTEND,
    now: datetime | None = None,
) -> tuple[ClassSeries, generation.RunResult]:
    """Give a series a later last date (None: open-ended) and generate at once."""
    locks.lock_series(db, [series_id])
    series = get(db, series_id, reread=True)
    if series.status != SeriesStatus.ACTIVE:
        raise InvalidInput("status", f"series {series_id} is {series.status}, not ACTIVE")
    if series.last_date is None and last_date is not None:
        raise InvalidInput("last_date", "the series has no last date; nothing to extend")
    if last_date is not None and series.last_date is not None and last_date <= series.last_date:
        raise InvalidInput("last_date", f"must be after the current last date {series.last_date}")
    previous = series.last_date
    series.last_date = last_date
    if previous is not None and series.generated_through is not None:
        # Generation may have passed the days after the old last date before the series
        # was shortened to it, or while one of them was closed; a day reopened since then
        # was not filled (the series did not meet then). Go over them again from the old
        # last date: a day with a row keeps it (cancelled ones stay cancelled), a day
        # without one gets one.
        series.generated_through = min(series.generated_through, previous)
    # The reason of an earlier end no longer holds; say what changed instead.
    until = last_date.isoformat() if last_date else "open-ended"
    series.status_reason = f"extended to {until} (was {previous})"
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="series.extend",
        subject_type="series",
        subject_id=series.id,
        branch_id=series.branch_id,
        series_id=series.id,
        details={"last_date": str(last_date), "previous_last_date": str(previous)},
    )
    result = generation.generate_in(
        db, trigger=trigger, scope=generation.Scope(series_id=series.id, now=now), actor=actor
    )
    db.refresh(series)  # generation moved its watermark in SQL
    return series, result


def change_from(
    db: Session,
    series_id: int,
    *,
    change: SeriesChange,
    actor: Actor,
    now: datetime | None = None,
) -> tuple[ClassSeries, generation.RunResult]:
    """Change "this and following": end the old series the day before, start a new one."""
    locks.lock_series(db, [series_id], teachers=[change.teacher_id], rooms=[change.room_id])
    old = get(db, series_id, reread=True)
    if old.status != SeriesStatus.ACTIVE:
        raise InvalidInput("status", f"series {series_id} is {old.status}, not ACTIVE")
    start = change.from_date
    if start < old.first_date or (old.last_date is not None and start > old.last_date):
        raise InvalidInput("from_date", "must fall within the series' dates")
    new = ClassSeries(
        branch_id=old.branch_id,
        teacher_id=change.teacher_id or old.teacher_id,
        kind=old.kind,
        student_id=old.student_id,
        title=old.title,
        capacity=old.capacity,
        room_id=change.room_id or old.room_id,
        weekdays=to_mask(change.weekdays) if change.weekdays else old.weekdays,
        start_time=change.start_time or old.start_time,
        end_time=change.end_time or old.end_time,
        first_date=start,
        last_date=change.last_date or old.last_date,
        interval_weeks=change.interval_weeks or old.interval_weeks,
        status=SeriesStatus.ACTIVE,
    )
    if new.end_time <= new.start_time:
        raise InvalidInput("end_time", "must be after start_time")
    if new.last_date is not None and new.last_date < new.first_date:
        raise InvalidInput("last_date", "must not be before from_date")
    check_refs(
        db,
        branch_id=new.branch_id,
        teacher_id=new.teacher_id,
        student_ids=[],
        room_id=new.room_id,
    )
    same_key = (new.teacher_id, new.start_time, new.end_time, new.weekdays) == (
        old.teacher_id,
        old.start_time,
        old.end_time,
        old.weekdays,
    )
    if start > old.first_date:
        # The old series keeps the days before the change.
        old.last_date = start - timedelta(days=1)
        if same_key:
            # Two ACTIVE series may not share a key: materialise the old one's remaining
            # days now, then let it step aside.
            generation.generate_in(
                db,
                trigger=RunTrigger.LIFECYCLE,
                scope=generation.Scope(series_id=old.id, through=old.last_date, now=now),
                actor=actor,
            )
            old.status = SeriesStatus.ENDED
    else:
        old.status = SeriesStatus.ENDED
    old.status_reason = f"changed from {start} into a new series"
    db.flush()
    cancelled = _cancel_sessions(
        db,
        where=[ClassSession.series_id == old.id, ClassSession.original_date >= start],
        reason=f"series_changed from {start}",
        actor=actor,
        action="series.change.cancel_sessions",
    )
    insert_guarded(db, new)
    enrolled = db.scalars(
        select(SeriesEnrolment).where(
            SeriesEnrolment.series_id == old.id,
            (SeriesEnrolment.until_date.is_(None)) | (SeriesEnrolment.until_date >= start),
        )
    )
    for e in list(enrolled):
        db.add(
            SeriesEnrolment(
                series_id=new.id,
                student_id=e.student_id,
                from_date=max(e.from_date, start),
                until_date=e.until_date,
            )
        )
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="series.change_from",
        subject_type="series",
        subject_id=old.id,
        branch_id=old.branch_id,
        series_id=old.id,
        details={
            "new_series_id": new.id,
            "from_date": start.isoformat(),
            "cancelled": len(cancelled),
            "change": change.model_dump(mode="json", exclude_none=True),
        },
    )
    result = generation.generate_in(
        db,
        trigger=RunTrigger.LIFECYCLE,
        scope=generation.Scope(series_id=new.id, now=now),
        actor=actor,
    )
    db.refresh(new)  # generation moved its watermark in SQL
    return new, result
