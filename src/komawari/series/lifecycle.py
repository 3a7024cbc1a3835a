"""The series lifecycle: pause, resume, shorten or end, extend, change from a date.

Every function takes the session first, flushes but does not commit, holds the schedule
lock from its first change, and records what it did in the audit log.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.branches.models import Branch
from komawari.db import errors as db_errors
from komawari.errors import DuplicateSeries, DuplicateSession, InvalidInput
from komawari.generation import service as generation
from komawari.generation.enums import RunTrigger
from komawari.scheduling import timerules
from komawari.scheduling.timerules import today_in
from komawari.scheduling.weekdays import to_mask
from komawari.series.enums import SeriesStatus
from komawari.series.models import BREAK_GUARD, ClassSeries, SeriesEnrolment, SeriesPauseRecord
from komawari.series.schemas import NO_LAST_DAY, SeriesChange, ends_before_start
from komawari.series.service import check_refs, find_active_duplicate, get, insert_guarded
from komawari.sessions import locks, reevaluate
from komawari.sessions import service as sessions_service
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from komawari.words import say


def _cancel_sessions(
    db: Session, *, where: list[object], reason: str, actor: Actor, action: str,
    pause_id: int | None = None,
) -> list[int]:  # fmt: skip
    """Cancel the live sessions matching `where` with a reason; re-evaluate their neighbours.

    `pause_id`: the pause that cancels them, noted on each so resuming brings them back.
    """
    ids = list(
        db.scalars(
            update(ClassSession)
            .where(ClassSession.status != SessionStatus.CANCELLED, *where)  # type: ignore[arg-type]
            .values(
                status=SessionStatus.CANCELLED,
                cancel_reason=reason,
                cancelled_at=func.now(),
                conflicts_with=[],
                cancelled_by_pause_id=pause_id,
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


MAX_BREAK_DAYS = 366


def _audit(
    db: Session, action: str, series: ClassSeries, actor: Actor, reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:  # fmt: skip
    """Record a change of `series` in the audit log."""
    audit.record(
        db,
        actor=actor,
        action=action,
        subject_type="series",
        subject_id=series.id,
        branch_id=series.branch_id,
        series_id=series.id,
        reason=reason,
        details=details or {},
    )


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
    from_date: date | None = None,
    until: date | None = None,
    now: datetime | None = None,
) -> tuple[ClassSeries, list[int]]:
    """Take a break (`until` given), or pause until resumed; return the cancelled lessons.

    A break: the series stays ACTIVE; its lessons from `from_date` (today when missing) to
    `until` are cancelled, generation makes none on those days, and the series goes on by
    itself after `until`. An open pause: the series is PAUSED (no more generation); with
    `cancel_future` its lessons that have not started yet are cancelled. Either way the
    cancelled lessons point to the pause, so resuming brings them back.
    """
    locks.lock_series(db, [series_id])
    series = get(db, series_id, reread=True)
    if series.status != SeriesStatus.ACTIVE:
        raise InvalidInput(
            "status",
            say("series.not-active", "this series is %(status)s, not active", status=series.status),
        )
    today = _today(db, series, now)
    if until is not None:
        return series, _take_break(
            db, series, first=from_date or today, until=until, today=today, actor=actor,
            reason=reason,
        )  # fmt: skip
    if from_date is not None:
        raise InvalidInput("until", NO_LAST_DAY)
    record = SeriesPauseRecord(series_id=series.id, from_date=today, reason=reason)
    db.add(record)
    series.status, series.status_reason = SeriesStatus.PAUSED, reason
    db.flush()
    _audit(
        db,
        "series.pause",
        series,
        actor,
        reason=reason,
        details={"cancel_future": cancel_future, "pause_id": record.id},
    )
    if not cancel_future:
        return series, []
    # The lessons that have not started yet: one earlier today is kept.
    at = now or timerules.now()
    return series, _cancel_sessions(
        db,
        where=[ClassSession.series_id == series.id, ClassSession.starts_at > at],
        reason=f"series_paused{': ' + reason if reason else ''}",
        actor=actor,
        action="series.pause.cancel_sessions",
        pause_id=record.id,
    )


def _take_break(
    db: Session, series: ClassSeries, *, first: date, until: date, today: date, actor: Actor,
    reason: str | None,
) -> list[int]:  # fmt: skip
    if first < today:
        past = say(
            "break.starts-in-past", "a break cannot start before today (%(today)s)", today=today
        )
        raise InvalidInput("from_date", past)
    if until < first:
        raise InvalidInput("until", ends_before_start(first))
    if (until - first).days > MAX_BREAK_DAYS:
        too_long = say("break.too-long", "a break lasts a year at most; pause the series instead")
        raise InvalidInput("until", too_long)
    if series.last_date is not None and first > series.last_date:
        after_end = say(
            "break.after-series-end",
            "the series ends on %(day)s, before this break starts",
            day=series.last_date,
        )
        raise InvalidInput("from_date", after_end)
    record = SeriesPauseRecord(
        series_id=series.id, from_date=first, until_date=until, reason=reason
    )

    def overlapping() -> InvalidInput:
        other = db.scalars(
            select(SeriesPauseRecord).where(
                SeriesPauseRecord.series_id == series.id,
                SeriesPauseRecord.ended_at.is_(None),
                SeriesPauseRecord.until_date >= first,
                SeriesPauseRecord.from_date <= until,
            )
        ).first()
        if other is None:
            return InvalidInput(
                "from_date",
                say("break.overlaps-another", "the series already has a break on those days"),
            )
        return InvalidInput(
            "from_date",
            say(
                "break.overlaps",
                "the series already has a break from %(first)s until %(last)s",
                first=other.from_date,
                last=other.until_date,
            ),
        )

    db_errors.guarded(db, lambda: db.add(record), overlapping, BREAK_GUARD)
    _audit(
        db,
        "series.break",
        series,
        actor,
        reason=reason,
        details={"from_date": first.isoformat(), "until": until.isoformat(),
                 "pause_id": record.id},
    )  # fmt: skip
    return _cancel_sessions(
        db,
        where=[
            ClassSession.series_id == series.id,
            ClassSession.original_date.between(first, until),
        ],
        reason=f"series_break{': ' + reason if reason else ''}",
        actor=actor,
        action="series.break.cancel_sessions",
        pause_id=record.id,
    )


def resume(
    db: Session, series_id: int, *, actor: Actor, now: datetime | None = None
) -> tuple[ClassSeries, generation.RunResult, list[int]]:
    """Resume a paused series, or end its break now, from today (never backfilling the
    past): the future lessons the pause cancelled come back, each verdicted again, and
    the days from today are generated."""
    locks.lock_series(db, [series_id])
    series = get(db, series_id, reread=True)
    today = _today(db, series, now)
    pauses = list(
        db.scalars(
            select(SeriesPauseRecord).where(
                SeriesPauseRecord.series_id == series.id,
                SeriesPauseRecord.ended_at.is_(None),
                SeriesPauseRecord.until_date.is_(None)
                if series.status == SeriesStatus.PAUSED
                else SeriesPauseRecord.until_date >= today,
            )
        )
    )
    if series.status == SeriesStatus.ACTIVE and not pauses:
        raise InvalidInput(
            "status", say("series.nothing-to-resume", "this series is active and not on a break")
        )
    if series.status not in (SeriesStatus.PAUSED, SeriesStatus.ACTIVE):
        ended = say(
            "series.not-paused", "this series is %(status)s, not paused", status=series.status
        )
        raise InvalidInput("status", ended)
    if series.status == SeriesStatus.PAUSED:
        duplicate = find_active_duplicate(db, series)
        if duplicate is not None:
            raise DuplicateSeries(duplicate.id)
    yesterday = today - timedelta(days=1)
    series.status, series.status_reason = SeriesStatus.ACTIVE, None
    for record in pauses:
        record.ended_at = func.now()
    # Generation goes over the days from today on again, never the past: a day with a row
    # keeps it, and a day that was closed when generation passed it and reopened while the
    # series was paused (a reopened day is filled only for ACTIVE series), or a day of the
    # break that ended, gets one.
    series.generated_through = yesterday
    db.flush()
    back, kept = _bring_back(db, [p.id for p in pauses], now=now, actor=actor)
    _audit(
        db,
        "series.resume",
        series,
        actor,
        details={"pause_ids": [p.id for p in pauses], "restored": back, "kept_cancelled": kept},
    )
    result = generation.generate_in(
        db,
        trigger=RunTrigger.LIFECYCLE,
        scope=generation.Scope(series_id=series.id, now=now),
        actor=actor,
    )
    db.refresh(series)  # generation moved its watermark in SQL
    return series, result, back


def _bring_back(
    db: Session, pause_ids: list[int], *, now: datetime | None, actor: Actor
) -> tuple[list[int], dict[str, str]]:
    """Restore the lessons the pauses cancelled that have not started yet (a lesson
    restored by hand since points to no pause). Return the restored ids, and why each
    other one stays cancelled (its day closed, the same lesson booked meanwhile...)."""
    if not pause_ids:
        return [], {}
    at = now or timerules.now()
    ids = db.scalars(
        select(ClassSession.id)
        .where(
            ClassSession.cancelled_by_pause_id.in_(pause_ids),
            ClassSession.status == SessionStatus.CANCELLED,
            ClassSession.starts_at > at,
        )
        .order_by(ClassSession.date, ClassSession.start_time, ClassSession.id)
    ).all()
    back: list[int] = []
    kept: dict[str, str] = {}
    for sid in ids:
        try:
            with db.begin_nested():
                sessions_service.restore(db, sid, actor=actor, reason="series resumed")
            back.append(sid)
        except (InvalidInput, DuplicateSession) as exc:
            kept[str(sid)] = exc.detail
    return back, kept


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
        raise InvalidInput("status", say("series.already-ended", "this series has already ended"))
    if series.last_date is not None and last_date > series.last_date:
        later = say(
            "series.end-after-last-date",
            "is later than the current last date; extend the series instead",
        )
        raise InvalidInput("last_date", later)
    old_last = series.last_date
    if last_date < series.first_date:
        series.status = SeriesStatus.ENDED
    else:
        series.last_date = last_date
        if last_date < _today(db, series, now):
            series.status = SeriesStatus.ENDED
    series.status_reason = reason
    db.flush()
    _audit(
        db,
        "series.end",
        series,
        actor,
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
        raise InvalidInput(
            "status",
            say("series.not-active", "this series is %(status)s, not active", status=series.status),
        )
    if series.last_date is None and last_date is not None:
        open_ended = say("series.no-last-date", "the series has no last date; nothing to extend")
        raise InvalidInput("last_date", open_ended)
    if last_date is not None and series.last_date is not None and last_date <= series.last_date:
        not_later = say(
            "series.extend-not-later",
            "must be after the current last date %(day)s",
            day=series.last_date,
        )
        raise InvalidInput("last_date", not_later)
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
    _audit(
        db,
        "series.extend",
        series,
        actor,
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
        raise InvalidInput(
            "status",
            say("series.not-active", "this series is %(status)s, not active", status=old.status),
        )
    start = change.from_date
    if start < old.first_date or (old.last_date is not None and start > old.last_date):
        outside = say("series.date-outside", "must fall within the series' dates")
        raise InvalidInput("from_date", outside)
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
        raise InvalidInput(
            "end_time", say("time.end-not-after-start", "must be after the start time")
        )
    if new.last_date is not None and new.last_date < new.first_date:
        before = say(
            "series.change-ends-before-start", "must not be before the date the change starts"
        )
        raise InvalidInput("last_date", before)
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
    _audit(
        db,
        "series.change_from",
        old,
        actor,
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
