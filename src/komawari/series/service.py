"""Series: create (refusing ACTIVE duplicates), read, list. Lifecycle and enrolment live
in `lifecycle.py` and `enrolment.py`.

Every function takes the session first, flushes but does not commit, holds the schedule
lock from its first change, and records what it did in the audit log.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.branches.models import Branch
from komawari.db import errors as db_errors
from komawari.errors import DuplicateSeries, InvalidInput, NotFound
from komawari.generation import service as generation
from komawari.generation.enums import RunTrigger
from komawari.people import status as people_status
from komawari.series.enums import SeriesKind, SeriesStatus
from komawari.series.models import (
    ACTIVE_GROUP_GUARD,
    ACTIVE_PRIVATE_GUARD,
    ClassSeries,
    SeriesEnrolment,
)
from komawari.series.schemas import SeriesCreate
from komawari.sessions import locks
from komawari.words import say

GUARD_NAMES = (ACTIVE_PRIVATE_GUARD, ACTIVE_GROUP_GUARD)


def get(db: Session, series_id: int, *, reread: bool = False) -> ClassSeries:
    """Return the series, or raise NotFound.

    `reread`: read the row again even if this session holds it. A writer passes it once
    its locks are held: the route's dependency loaded the series before them, and a
    concurrent writer it waited for may have changed it since.
    """
    series = db.get(ClassSeries, series_id, populate_existing=reread)
    if series is None:
        raise NotFound(say("series.not-found", "there is no series number %(id)s", id=series_id))
    return series


def find_active_duplicate(db: Session, series: ClassSeries) -> ClassSeries | None:
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
    return db.scalars(query.order_by(ClassSeries.id).limit(1)).first()


def check_refs(
    db: Session,
    *,
    branch_id: int,
    teacher_id: int,
    student_ids: list[int],
    room_id: int | None,
) -> Branch:
    branch = db.get(Branch, branch_id)
    if branch is None:
        raise InvalidInput(
            "branch_id", say("branch.not-found", "branch %(id)s does not exist", id=branch_id)
        )
    people_status.check_bookable(
        db,
        teacher_id=teacher_id,
        student_ids=student_ids,
        room_id=room_id,
        branch_id=branch_id,
    )
    return branch


def insert_guarded(db: Session, series: ClassSeries) -> None:
    """Insert, turning the ACTIVE-duplicate guard's refusal (a lost race) into a 409."""
    existing = find_active_duplicate(db, series)
    if existing is not None and series.status == SeriesStatus.ACTIVE:
        raise DuplicateSeries(existing.id)

    def refusal() -> DuplicateSeries:
        found = find_active_duplicate(db, series)
        return DuplicateSeries(found.id if found else 0)

    db_errors.guarded(db, lambda: db.add(series), refusal, *GUARD_NAMES)


def create(
    db: Session,
    *,
    series_in: SeriesCreate,
    actor: Actor,
    trigger: RunTrigger = RunTrigger.API,
    generate: bool = True,
    now: datetime | None = None,
) -> tuple[ClassSeries, generation.RunResult | None]:
    """Create a series (refusing an ACTIVE duplicate) and materialise it up to the horizon."""
    students = [series_in.student_id] if series_in.student_id else series_in.student_ids
    locks.lock_resources(
        db, teachers=[series_in.teacher_id], students=students, rooms=[series_in.room_id]
    )
    check_refs(
        db,
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
    insert_guarded(db, series)
    for sid in dict.fromkeys(series_in.student_ids):
        db.add(SeriesEnrolment(series_id=series.id, student_id=sid, from_date=series_in.first_date))
    db.flush()
    audit.record(
        db,
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
            db,
            trigger=trigger,
            scope=generation.Scope(series_id=series.id, now=now),
            actor=actor,
        )
        db.refresh(series)  # generation moved its watermark in SQL
    return series, result


def list_series(
    db: Session,
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
    return list(db.scalars(query))
