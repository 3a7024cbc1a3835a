"""Sessions as test rows (written directly, as legacy data would be)."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy.orm import Session

from komawari.branches.models import Branch
from komawari.people.models import Student, Teacher
from komawari.series.enums import SeriesKind
from komawari.series.models import ClassSeries
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession


def private_session(
    db: Session,
    *,
    branch_row: Branch,
    teacher_row: Teacher,
    student_row: Student,
    day: date = date(2026, 12, 3),
    start: time = time(20, 0),
    end: time = time(21, 30),
    series: ClassSeries | None = None,
    original_date: date | None = None,
    status: SessionStatus = SessionStatus.CONFIRMED,
) -> ClassSession:
    row = ClassSession(
        branch_id=branch_row.id,
        time_zone=branch_row.time_zone,
        kind=SeriesKind.PRIVATE,
        date=day,
        start_time=start,
        end_time=end,
        teacher_id=teacher_row.id,
        student_id=student_row.id,
        series_id=series.id if series else None,
        original_date=original_date if series else None,
        status=status,
        cancel_reason="test" if status == SessionStatus.CANCELLED else None,
    )
    db.add(row)
    db.flush()
    return row
