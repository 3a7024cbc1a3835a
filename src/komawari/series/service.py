"""The series lifecycle: create, pause, resume, end, extend, change from a date, enrol.

Every function takes the session first, flushes but does not commit, holds the schedule
lock from its first change, and records what it did in the audit log.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.branches.models import Branch
from komawari.errors import DuplicateSeries, InvalidInput, NotFound
from komawari.generation import service as generation
from komawari.orm import RunTrigger, SeriesKind, SeriesStatus, SessionStatus
from komawari.people.models import Room, Student, Teacher
from komawari.scheduling.timerules import today_in
from komawari.scheduling.weekdays import to_mask
from komawari.series.models import ClassSeries, SeriesEnrolment
from komawari.series.schemas import SeriesChange, SeriesCreate
from komawari.sessions import conflicts
from komawari.sessions.models import ClassSession, SessionAttendee

GUARD_NAMES = ("ux_class_series_active_private", "ux_class_series_active_group")


def get(session: Session, series_id: int) -> ClassSeries:
    """Return the series, or raise NotFound."""
    series = session.get(ClassSeries, series_id)
    if series is None:
        raise NotFound(f"series {series_id} does not exist")
    return series


def find_active_duplicate(session: Session, series: ClassSeries) -> ClassSeries | None:
    """Return the ACTIVE series with the same key as `series` (promise 3), if any."""
    party = (
        ClassSeries.student_id == series.student_id
        if series.kind == SeriesKind.PRIVATE
        else ClassSeries.title == series.title
    )
    query = select(ClassSeries).where(
        ClassSeries.status == SeriesStatus.ACTIVE,
        ClassSeries.kind == series.kind,
        ClassSeries.branch_id == series.branch_id,
        ClassSeries.teacher_id == series.teacher_id,
        party,
        ClassSeries.start_time == series.start_time,
        ClassSeries.end_time == series.end_time,
        ClassSeries.weekdays == series.weekdays,
    )
    if series.id is not None:
        query = query.where(ClassSeries.id != series.id)
    return session.scalars(query.order_by(ClassSeries.id).limit(1)).first()


def _check_refs(
    session: Session,
    *,
    branch_id: int,
    teacher_id: int,
    student_ids: list[int],
    room_id: int | None,
) -> Branch:
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise InvalidInput("branch_id", f"branch {branch_id} does not exist")
    if session.get(Teacher, teacher_id) is None:
        raise InvalidInput("teacher_id", f"teacher {teacher_id} does not exist")
    for sid in student_ids:
        if session.get(Student, sid) is None:
            raise InvalidInput("student_id", f"student {sid} does not exist")
    if room_id is not None:
        room = session.get(Room, room_id)
        if room is None or room.branch_id != branch_id:
            raise InvalidInput("room_id", f"room {room_id} does not exist at branch {branch_id}")
    return branch


def _insert_guarded(session: Session, series: ClassSeries) -> None:
    """Insert, turning the ACTIVE-duplicate guard's refusal (a lost race) into a 409."""
    existing = find_active_duplicate(session, series)
    if existing is not None and series.status == SeriesStatus.ACTIVE:
        raise DuplicateSeries(existing.id)
    savepoint = session.begin_nested()
    try:
        session.add(series)
        session.flush()
    except IntegrityError as exc:
        savepoint.rollback()
        name = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
        if name in GUARD_NAMES:
            found = find_active_duplicate(session, series)
            raise DuplicateSeries(found.id if found else 0) from exc
        raise
    savepoint.commit()


def create(
    session: Session,
    *,
    series_in: SeriesCreate,
    actor: Actor,
    trigger: RunTrigger = RunTrigger.API,
    generate: bool = True,
    now: datetime | None = None,
) -> tuple[ClassSeries, generation.RunResult | None]:
    """Create a series (refusing an ACTIVE duplicate) and materialise it up to the horizon."""
    conflicts.lock_schedule(session)
    students = [series_in.student_id] if series_in.student_id else series_in.student_ids
    _check_refs(
        session,
        branch_id=series_in.branch_id,
        teacher_id=series_in.teacher_id,
        student_ids=students,
        room_id=series_in.room_id,
    )
    series = ClassSeries(
        branch_id=series_in.branch_id,
        teacher_id=series_in.teacher_id,
        kind=SeriesKind(series_in.kind),
        student_id=series_in.student_id,
        title=series_in.title,
        capacity=series_in.capacity,
        room_id=series_in.room_id,
        weekdays=series_in.weekday_mask,
        start_time=series_in.start_time,
        end_time=series_in.end_time,
        first_date=series_in.first_date,
        last_date=series_in.last_date,
        interval_weeks=series_in.interval_weeks,
        status=SeriesStatus.ACTIVE,
    )
    _insert_guarded(session, series)
    for sid in dict.fromkeys(series_in.student_ids):
        session.add(
            SeriesEnrolment(series_id=series.id, student_id=sid, from_date=series_in.first_date)
        )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="series.create",
        subject_type="series",
        subject_id=series.id,
        branch_id=series.branch_id,
        series_id=series.id,
        details=series_in.model_dump(mode="json"),
    )
    result = None
    if generate:
        result = generation.generate_in(
            session,
            trigger=trigger,
            scope=generation.Scope(series_id=series.id, now=now),
            actor=actor,
        )
    return series, result


def _cancel_sessions(
    session: Session, *, where: list[object], reason: str, actor: Actor, action: str
) -> list[int]:
    """Cancel the live sessions matching `where` with a reason; re-evaluate their neighbours."""
    ids = list(
        session.scalars(
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
        conflicts.evaluate(session, ids)
        audit.record(
            session,
            actor=actor,
            action=action,
            subject_type="session",
            reason=reason,
            details={"session_ids": ids, "count": len(ids)},
        )
    return ids


def _today(session: Session, series: ClassSeries, now: datetime | None) -> date:
    branch = session.get(Branch, series.branch_id)
    assert branch is not None
    return today_in(branch.time_zone, now)


def pause(
    session: Session,
    series_id: int,
    *,
    actor: Actor,
    reason: str | None = None,
    cancel_future: bool = False,
    now: datetime | None = None,
) -> list[int]:
    """Pause a series: no more generation; future sessions kept unless asked to cancel them."""
    conflicts.lock_schedule(session)
    series = get(session, series_id)
    if series.status != SeriesStatus.ACTIVE:
        raise InvalidInput("status", f"series {series_id} is {series.status}, not ACTIVE")
    series.status, series.status_reason = SeriesStatus.PAUSED, reason
    session.flush()
    audit.record(
        session,
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
        return []
    return _cancel_sessions(
        session,
        where=[
            ClassSession.series_id == series.id,
            ClassSession.date >= _today(session, series, now),
        ],
        reason=f"series_paused{': ' + reason if reason else ''}",
        actor=actor,
        action="series.pause.cancel_sessions",
    )


def resume(
    session: Session, series_id: int, *, actor: Actor, now: datetime | None = None
) -> generation.RunResult:
    """Resume a paused series from today (never backfilling the past) and generate."""
    conflicts.lock_schedule(session)
    series = get(session, series_id)
    if series.status != SeriesStatus.PAUSED:
        raise InvalidInput("status", f"series {series_id} is {series.status}, not PAUSED")
    duplicate = find_active_duplicate(session, series)
    if duplicate is not None:
        raise DuplicateSeries(duplicate.id)
    yesterday = _today(session, series, now) - timedelta(days=1)
    series.status, series.status_reason = SeriesStatus.ACTIVE, None
    if series.generated_through is None or series.generated_through < yesterday:
        series.generated_through = yesterday
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="series.resume",
        subject_type="series",
        subject_id=series.id,
        branch_id=series.branch_id,
        series_id=series.id,
    )
    return generation.generate_in(
        session,
        trigger=RunTrigger.LIFECYCLE,
        scope=generation.Scope(series_id=series.id, now=now),
        actor=actor,
    )


def end(
    session: Session,
    series_id: int,
    *,
    last_date: date,
    actor: Actor,
    reason: str | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Shorten or end a series: sessions after the new last date are cancelled with a reason."""
    conflicts.lock_schedule(session)
    series = get(session, series_id)
    if series.status == SeriesStatus.ENDED:
        raise InvalidInput("status", f"series {series_id} is already ENDED")
    if series.last_date is not None and last_date > series.last_date:
        raise InvalidInput("last_date", "is later than the current last date; use extend")
    old_last = series.last_date
    if last_date < series.first_date:
        series.status = SeriesStatus.ENDED
    else:
        series.last_date = last_date
        if last_date < _today(session, series, now):
            series.status = SeriesStatus.ENDED
    series.status_reason = reason
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="series.end",
        subject_type="series",
        subject_id=series.id,
        branch_id=series.branch_id,
        series_id=series.id,
        reason=reason,
        details={"last_date": last_date.isoformat(), "previous_last_date": str(old_last)},
    )
    return _cancel_sessions(
        session,
        where=[ClassSession.series_id == series.id, ClassSession.original_date > last_date],
        reason=f"series_ended{': ' + reason if reason else ''}",
        actor=actor,
        action="series.end.cancel_sessions",
    )


def extend(
    session: Session,
    series_id: int,
    *,
    last_date: date | None,
    actor: Actor,
    trigger: RunTrigger = RunTrigger.EXTEND,
    now: datetime | None = None,
) -> generation.RunResult:
    """Give a series a later last date (None: open-ended) and generate at once."""
    conflicts.lock_schedule(session)
    series = get(session, series_id)
    if series.status != SeriesStatus.ACTIVE:
        raise InvalidInput("status", f"series {series_id} is {series.status}, not ACTIVE")
    if series.last_date is None and last_date is not None:
        raise InvalidInput("last_date", "the series has no last date; nothing to extend")
    if last_date is not None and series.last_date is not None and last_date <= series.last_date:
        raise InvalidInput("last_date", f"must be after the current last date {series.last_date}")
    previous = series.last_date
    series.last_date = last_date
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="series.extend",
        subject_type="series",
        subject_id=series.id,
        branch_id=series.branch_id,
        series_id=series.id,
        details={"last_date": str(last_date), "previous_last_date": str(previous)},
    )
    return generation.generate_in(
        session, trigger=trigger, scope=generation.Scope(series_id=series.id, now=now), actor=actor
    )


def change_from(
    session: Session,
    series_id: int,
    *,
    change: SeriesChange,
    actor: Actor,
    now: datetime | None = None,
) -> tuple[ClassSeries, generation.RunResult]:
    """Change "this and following": end the old series the day before, start a new one."""
    conflicts.lock_schedule(session)
    old = get(session, series_id)
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
    _check_refs(
        session,
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
                session,
                trigger=RunTrigger.LIFECYCLE,
                scope=generation.Scope(series_id=old.id, through=old.last_date, now=now),
                actor=actor,
            )
            old.status = SeriesStatus.ENDED
    else:
        old.status = SeriesStatus.ENDED
    old.status_reason = f"changed from {start} into a new series"
    session.flush()
    cancelled = _cancel_sessions(
        session,
        where=[ClassSession.series_id == old.id, ClassSession.original_date >= start],
        reason=f"series_changed from {start}",
        actor=actor,
        action="series.change.cancel_sessions",
    )
    _insert_guarded(session, new)
    enrolled = session.scalars(
        select(SeriesEnrolment).where(
            SeriesEnrolment.series_id == old.id,
            (SeriesEnrolment.until_date.is_(None)) | (SeriesEnrolment.until_date >= start),
        )
    )
    for e in list(enrolled):
        session.add(
            SeriesEnrolment(
                series_id=new.id,
                student_id=e.student_id,
                from_date=max(e.from_date, start),
                until_date=e.until_date,
            )
        )
    session.flush()
    audit.record(
        session,
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
        session,
        trigger=RunTrigger.LIFECYCLE,
        scope=generation.Scope(series_id=new.id, now=now),
        actor=actor,
    )
    return new, result


def enrol(
    session: Session,
    series_id: int,
    *,
    student_id: int,
    from_date: date,
    actor: Actor,
    until_date: date | None = None,
) -> SeriesEnrolment:
    """Enrol a student in a group series from a date; its future sessions gain the student."""
    conflicts.lock_schedule(session)
    series = get(session, series_id)
    if series.kind != SeriesKind.GROUP:
        raise InvalidInput("series_id", "enrolment is for group series")
    if session.get(Student, student_id) is None:
        raise InvalidInput("student_id", f"student {student_id} does not exist")
    overlapping = session.scalar(
        select(func.count())
        .select_from(SeriesEnrolment)
        .where(
            SeriesEnrolment.series_id == series_id,
            (SeriesEnrolment.until_date.is_(None)) | (SeriesEnrolment.until_date >= from_date),
            *([SeriesEnrolment.from_date <= until_date] if until_date else []),
        )
    )
    if series.capacity is not None and (overlapping or 0) >= series.capacity:
        raise InvalidInput("student_id", f"series {series_id} is full (capacity {series.capacity})")
    enrolment = SeriesEnrolment(
        series_id=series_id, student_id=student_id, from_date=from_date, until_date=until_date
    )
    savepoint = session.begin_nested()
    try:
        session.add(enrolment)
        session.flush()
    except IntegrityError as exc:
        savepoint.rollback()
        raise InvalidInput("student_id", "already enrolled in this series on those dates") from exc
    savepoint.commit()
    upper = [ClassSession.date <= until_date] if until_date else []
    ids = list(
        session.scalars(
            select(ClassSession.id).where(
                ClassSession.series_id == series_id,
                ClassSession.date >= from_date,
                ClassSession.status != SessionStatus.CANCELLED,
                *upper,
            )
        )
    )
    if ids:
        session.execute(
            text(
                "INSERT INTO session_attendees (session_id, student_id) "
                "SELECT unnest(CAST(:ids AS bigint[])), :st ON CONFLICT DO NOTHING"
            ),
            {"ids": ids, "st": student_id},
        )
        conflicts.evaluate(session, ids)
    audit.record(
        session,
        actor=actor,
        action="series.enrol",
        subject_type="series",
        subject_id=series_id,
        branch_id=series.branch_id,
        series_id=series_id,
        details={
            "student_id": student_id,
            "from_date": from_date.isoformat(),
            "sessions": len(ids),
        },
    )
    return enrolment


def unenrol(
    session: Session, series_id: int, *, student_id: int, from_date: date, actor: Actor
) -> int:
    """End a student's enrolment the day before `from_date`; later sessions drop the student."""
    conflicts.lock_schedule(session)
    series = get(session, series_id)
    current = session.scalars(
        select(SeriesEnrolment).where(
            SeriesEnrolment.series_id == series_id,
            SeriesEnrolment.student_id == student_id,
            (SeriesEnrolment.until_date.is_(None)) | (SeriesEnrolment.until_date >= from_date),
        )
    ).all()
    if not current:
        raise InvalidInput("student_id", f"student {student_id} is not enrolled from {from_date}")
    for e in current:
        if e.from_date >= from_date:
            session.delete(e)
        else:
            e.until_date = from_date - timedelta(days=1)
    session.flush()
    ids = list(
        session.scalars(
            select(ClassSession.id).where(
                ClassSession.series_id == series_id, ClassSession.date >= from_date
            )
        )
    )
    removed = 0
    if ids:
        removed = len(
            session.scalars(
                delete(SessionAttendee)
                .where(
                    and_(
                        SessionAttendee.session_id.in_(ids),
                        SessionAttendee.student_id == student_id,
                    )
                )
                .returning(SessionAttendee.session_id)
            ).all()
        )
        conflicts.evaluate(session, ids)
    audit.record(
        session,
        actor=actor,
        action="series.unenrol",
        subject_type="series",
        subject_id=series_id,
        branch_id=series.branch_id,
        series_id=series_id,
        details={"student_id": student_id, "from_date": from_date.isoformat(), "sessions": removed},
    )
    return removed


def list_series(
    session: Session,
    *,
    branch_ids: list[int] | None = None,
    status: SeriesStatus | None = None,
    teacher_id: int | None = None,
    after_id: int = 0,
    limit: int = 100,
) -> list[ClassSeries]:
    """List series by id, filtered, keyset-paginated."""
    query = (
        select(ClassSeries).where(ClassSeries.id > after_id).order_by(ClassSeries.id).limit(limit)
    )
    if branch_ids is not None:
        query = query.where(ClassSeries.branch_id.in_(branch_ids))
    if status is not None:
        query = query.where(ClassSeries.status == status)
    if teacher_id is not None:
        query = query.where(ClassSeries.teacher_id == teacher_id)
    return list(session.scalars(query))


def now_utc() -> datetime:
    """Return the current instant (one place, so tests can reason about it)."""
    return datetime.now(UTC)
