"""Series as test rows."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy.orm import Session

from komawari.branches.models import Branch
from komawari.people.models import Student, Teacher
from komawari.series.enums import SeriesKind, SeriesStatus
from komawari.series.models import ClassSeries
from tests.factories.branches import branch
from tests.factories.people import student, teacher


def private_series(
    db: Session,
    *,
    branch_row: Branch | None = None,
    teacher_row: Teacher | None = None,
    student_row: Student | None = None,
    weekdays: int = 0b0000101,
    start: time = time(20, 0),
    end: time = time(21, 30),
    first_date: date = date(2026, 12, 1),
    status: SeriesStatus = SeriesStatus.ACTIVE,
) -> ClassSeries:
    b = branch_row or branch(db)
    row = ClassSeries(
        branch_id=b.id,
        teacher_id=(teacher_row or teacher(db)).id,
        student_id=(student_row or student(db)).id,
        kind=SeriesKind.PRIVATE,
        weekdays=weekdays,
        start_time=start,
        end_time=end,
        first_date=first_date,
        status=status,
    )
    db.add(row)
    db.flush()
    return row
