"""Attendee changes re-evaluate the lessons they stop sharing a student with."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from komawari.audit.service import Actor
from komawari.series import enrolment
from komawari.series import service as series_service
from komawari.series.schemas import SeriesCreate
from komawari.sessions import service as sessions
from komawari.sessions.enums import SessionStatus
from komawari.sessions.schemas import SessionCreate
from tests import factories as f

ACTOR = Actor("test", "pytest")
NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


def test_unenrolling_frees_the_student_s_lesson_that_the_group_blocked(db: Session) -> None:
    b, student = f.branch(db), f.student(db)
    group = SeriesCreate.model_validate(
        {
            "branch_id": b.id,
            "teacher_id": f.teacher(db).id,
            "kind": "GROUP",
            "title": "Club",
            "capacity": 4,
            "student_ids": [student.id],
            "weekdays": [1],
            "start_time": "18:00",
            "end_time": "19:00",
            "first_date": "2026-11-30",
        }
    )
    series, _ = series_service.create(db, series_in=group, actor=ACTOR, now=NOW)
    private = SessionCreate.model_validate(
        {
            "branch_id": b.id,
            "teacher_id": f.teacher(db).id,
            "student_id": student.id,
            "date": "2026-12-07",
            "start_time": "18:30",
            "end_time": "19:30",
        }
    )
    lesson = sessions.create_one_off(db, session_in=private, actor=ACTOR)
    assert lesson.status == SessionStatus.CONFLICTED
    enrolment.unenrol(
        db, series.id, student_id=student.id, from_date=date(2026, 12, 1), actor=ACTOR
    )
    db.refresh(lesson)
    assert (lesson.status, lesson.conflicts_with) == (SessionStatus.CONFIRMED, [])
