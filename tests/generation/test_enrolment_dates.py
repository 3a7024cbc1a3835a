"""A generated group lesson holds exactly the students enrolled on its date."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from komawari.series import enrolment
from komawari.sessions.models import SessionAttendee
from tests import factories as f
from tests.factories import bookings as bk


def test_a_student_unenrolled_from_a_date_is_not_in_later_generated_lessons(db: Session) -> None:
    b, kept, left = f.branch(db), f.student(db), f.student(db)
    series_id = bk.series(
        db, branch_id=b.id, teacher_id=f.teacher(db).id, student_ids=[kept.id, left.id],
        weekdays=["mon"], start_time="18:00", end_time="19:00",
    )  # fmt: skip
    enrolment.unenrol(
        db, series_id, student_id=left.id, from_date=date(2026, 12, 7), actor=bk.ACTOR
    )
    bk.generate(db)
    held = {
        s.date: sorted(db.scalars(select(SessionAttendee.student_id).filter_by(session_id=s.id)))
        for s in bk.made_by(db, series_id)
    }
    assert held == {date(2026, 11, 30): sorted([kept.id, left.id]), date(2026, 12, 7): [kept.id]}
