"""Test data, in one place: plain ORM rows with sensible defaults."""

from __future__ import annotations

import itertools
from datetime import date, time

from sqlalchemy.orm import Session

from komawari.db.registry import Branch, ClassSeries, ClassSession, Room, Student, Teacher
from komawari.series.enums import SeriesKind, SeriesStatus
from komawari.sessions.enums import SessionStatus

_n = itertools.count(1)


def branch(db: Session, *, name: str | None = None, time_zone: str = "Asia/Tokyo") -> Branch:
    row = Branch(name=name or f"Branch {next(_n)}", time_zone=time_zone)
    db.add(row)
    db.flush()
    return row


def teacher(db: Session, *, name: str | None = None) -> Teacher:
    row = Teacher(name=name or f"Teacher {next(_n)}")
    db.add(row)
    db.flush()
    return row


def student(db: Session, *, name: str | None = None) -> Student:
    row = Student(name=name or f"Student {next(_n)}")
    db.add(row)
    db.flush()
    return row


def room(db: Session, branch_row: Branch, *, capacity: int = 4) -> Room:
    row = Room(branch_id=branch_row.id, name=f"Room {next(_n)}", capacity=capacity)
    db.add(row)
    db.flush()
    return row


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
