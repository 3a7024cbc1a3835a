"""The incident's generator, as a baseline: per occurrence, SELECT then INSERT via the ORM."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from benchmarks.generation_school import HORIZON, TODAY
from komawari.scheduling.recurrence import Pattern, occurrences
from komawari.scheduling.timerules import local_instant
from komawari.series.enums import SeriesKind
from komawari.series.models import ClassSeries
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession


def naive(engine: Engine, sample: int, *, verdicts: bool = False) -> tuple[float, int]:
    """The incident's generator: per occurrence, SELECT then INSERT through the ORM.

    With `verdicts`, it also does the work generation does for each row: one more SELECT
    for the earlier-booked live lessons of the teacher or student that overlap it, so the
    row is stored CONFIRMED or CONFLICTED with its blockers, as generation stores it.
    """
    made = 0
    start = time.perf_counter()
    with Session(engine) as s:
        series = s.scalars(select(ClassSeries).order_by(ClassSeries.id).limit(sample)).all()
        for cs in series:
            pattern = Pattern(cs.weekdays, cs.first_date, cs.last_date, cs.interval_weeks)
            for d in occurrences(pattern, TODAY, TODAY + timedelta(days=HORIZON)):
                exists = s.scalar(
                    select(ClassSession.id).where(
                        ClassSession.series_id == cs.id, ClassSession.original_date == d
                    )
                )
                if exists is None:
                    blockers: list[int] = []
                    if verdicts:
                        starts = local_instant(d, cs.start_time, "Asia/Tokyo")
                        ends = local_instant(d, cs.end_time, "Asia/Tokyo")
                        blockers = list(
                            s.scalars(
                                select(ClassSession.id)
                                .where(
                                    (ClassSession.teacher_id == cs.teacher_id)
                                    | (ClassSession.student_id == cs.student_id),
                                    ClassSession.status != SessionStatus.CANCELLED,
                                    ClassSession.starts_at < ends,
                                    ClassSession.ends_at > starts,
                                )
                                .order_by(ClassSession.created_at, ClassSession.id)
                            )
                        )
                    s.add(
                        ClassSession(
                            branch_id=cs.branch_id,
                            time_zone="Asia/Tokyo",
                            series_id=cs.id,
                            original_date=d,
                            kind=SeriesKind.PRIVATE,
                            date=d,
                            start_time=cs.start_time,
                            end_time=cs.end_time,
                            teacher_id=cs.teacher_id,
                            student_id=cs.student_id,
                            status=SessionStatus.CONFLICTED
                            if blockers
                            else SessionStatus.CONFIRMED,
                            conflicts_with=blockers,
                        )
                    )
                    s.flush()
                    made += 1
            s.commit()
    return time.perf_counter() - start, made
