"""A dedupe of the incident's data tells nobody anything: removing duplicates changes no
real lesson (each family still has the lessons it had)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from komawari.notices.models import NoticeIntent
from komawari.ops import dedupe
from tests.factories import contacts

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def test_a_dedupe_of_the_incident_writes_no_notice(db: Session, incident: dict[str, int]) -> None:
    students = db.scalars(text("SELECT id FROM students")).all()
    teachers = db.scalars(text("SELECT id FROM teachers")).all()
    for student_id in students:
        contacts.guardian(db, student_id)
    for teacher_id in teachers:
        contacts.teacher_contact(db, teacher_id)
    result = dedupe.run(db, apply=True, now=NOW)
    assert not result.nothing_to_do, "the incident has duplicates to remove"
    assert db.scalar(select(func.count()).select_from(NoticeIntent)) == 0
    # The test can fail: cancelling one of those lessons outright is told.
    lesson = db.scalar(
        text("SELECT id FROM class_sessions WHERE status <> 'CANCELLED' AND student_id IS NOT NULL"
             " ORDER BY id LIMIT 1")
    )  # fmt: skip
    db.execute(
        text(
            "UPDATE class_sessions SET status = 'CANCELLED', cancel_reason = 'test' WHERE id = :i"
        ),
        {"i": lesson},
    )
    assert db.scalar(select(func.count()).select_from(NoticeIntent)) >= 1
