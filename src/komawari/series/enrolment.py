"""Group enrolments: a student joins or leaves a group series from a date."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import and_, delete, func, select, text
from sqlalchemy.orm import Session

from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.db import errors as db_errors
from komawari.errors import InvalidInput
from komawari.people import status as people_status
from komawari.series.enums import SeriesKind
from komawari.series.models import ENROLMENT_GUARD, SeriesEnrolment
from komawari.series.service import get
from komawari.sessions import locks, reevaluate
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession, SessionAttendee
from komawari.words import say


def enrol(
    db: Session,
    series_id: int,
    *,
    student_id: int,
    from_date: date,
    actor: Actor,
    until_date: date | None = None,
) -> SeriesEnrolment:
    """Enrol a student in a group series from a date; its future sessions gain the student."""
    locks.lock_series(db, [series_id], students=[student_id])
    series = get(db, series_id, reread=True)
    if series.kind != SeriesKind.GROUP:
        raise InvalidInput(
            "series_id", say("enrolment.not-group", "only a group series takes enrolments")
        )
    people_status.check_bookable(db, student_ids=[student_id])
    overlapping = db.scalar(
        select(func.count())
        .select_from(SeriesEnrolment)
        .where(
            SeriesEnrolment.series_id == series_id,
            (SeriesEnrolment.until_date.is_(None)) | (SeriesEnrolment.until_date >= from_date),
            *([SeriesEnrolment.from_date <= until_date] if until_date else []),
        )
    )
    if series.capacity is not None and (overlapping or 0) >= series.capacity:
        full = say(
            "enrolment.full",
            "this series is full (capacity %(capacity)s)",
            capacity=series.capacity,
        )
        raise InvalidInput("student_id", full)
    enrolment = SeriesEnrolment(
        series_id=series_id, student_id=student_id, from_date=from_date, until_date=until_date
    )
    db_errors.guarded(
        db,
        lambda: db.add(enrolment),
        lambda: InvalidInput(
            "student_id",
            say("enrolment.duplicate", "already enrolled in this series on those dates"),
        ),
        ENROLMENT_GUARD,
    )
    upper = [ClassSession.date <= until_date] if until_date else []
    ids = list(
        db.scalars(
            select(ClassSession.id).where(
                ClassSession.series_id == series_id,
                ClassSession.date >= from_date,
                ClassSession.status != SessionStatus.CANCELLED,
                *upper,
            )
        )
    )
    if ids:
        db.execute(
            text(
                "INSERT INTO session_attendees (session_id, student_id) "
                "SELECT unnest(CAST(:ids AS bigint[])), :st ON CONFLICT DO NOTHING"
            ),
            {"ids": ids, "st": student_id},
        )
        reevaluate.evaluate(db, ids)
    audit.record(
        db,
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


def unenrol(db: Session, series_id: int, *, student_id: int, from_date: date, actor: Actor) -> int:
    """End a student's enrolment the day before `from_date`; later sessions drop the student."""
    locks.lock_series(db, [series_id])
    series = get(db, series_id, reread=True)
    current = db.scalars(
        select(SeriesEnrolment).where(
            SeriesEnrolment.series_id == series_id,
            SeriesEnrolment.student_id == student_id,
            (SeriesEnrolment.until_date.is_(None)) | (SeriesEnrolment.until_date >= from_date),
        )
    ).all()
    if not current:
        not_enrolled = say(
            "enrolment.not-enrolled",
            "the student is not enrolled on or after %(day)s",
            day=from_date,
        )
        raise InvalidInput("student_id", not_enrolled)
    for e in current:
        if e.from_date >= from_date:
            db.delete(e)
        else:
            e.until_date = from_date - timedelta(days=1)
    db.flush()
    ids = list(
        db.scalars(
            select(ClassSession.id).where(
                ClassSession.series_id == series_id, ClassSession.date >= from_date
            )
        )
    )
    removed = 0
    if ids:
        # The student's other lessons that these sessions blocked: after the removal they
        # are no longer neighbours, yet their verdicts change (as in a move).
        freed = reevaluate.neighbours(db, ids)
        removed = len(
            db.scalars(
                delete(SessionAttendee)
                .where(
                    and_(
                        SessionAttendee.session_id.in_(ids),
                        SessionAttendee.student_id == student_id,
                        # Recorded attendance is kept (promise 6): that lesson happened.
                        SessionAttendee.attendance.is_(None),
                    )
                )
                .returning(SessionAttendee.session_id)
            ).all()
        )
        reevaluate.evaluate(db, [*ids, *freed])
    audit.record(
        db,
        actor=actor,
        action="series.unenrol",
        subject_type="series",
        subject_id=series_id,
        branch_id=series.branch_id,
        series_id=series_id,
        details={"student_id": student_id, "from_date": from_date.isoformat(), "sessions": removed},
    )
    return removed
