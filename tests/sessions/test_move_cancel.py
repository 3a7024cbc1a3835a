"""Moving and cancelling single sessions: refusals name the problem and change nothing."""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from komawari.audit.models import AuditEvent
from komawari.audit.service import Actor
from komawari.errors import DuplicateSession, InvalidInput
from komawari.sessions import service as sessions
from komawari.sessions.enums import SessionStatus
from komawari.sessions.schemas import SessionCreate, SessionMove
from tests import factories as f

ACTOR = Actor("test", "pytest")


def test_moving_onto_the_same_lesson_is_refused_and_changes_nothing(db: Session) -> None:
    b, t, s = f.branch(db), f.teacher(db), f.student(db)
    book = {"branch_id": b.id, "teacher_id": t.id, "student_id": s.id, "date": date(2026, 12, 3)}
    first = sessions.create_one_off(
        db,
        session_in=SessionCreate.model_validate(
            {**book, "start_time": "16:00", "end_time": "16:45"}
        ),
        actor=ACTOR,
    )
    second = sessions.create_one_off(
        db,
        session_in=SessionCreate.model_validate(
            {**book, "start_time": "18:00", "end_time": "18:45"}
        ),
        actor=ACTOR,
    )
    with pytest.raises(DuplicateSession) as info:
        sessions.move(
            db,
            second.id,
            actor=ACTOR,
            move_in=SessionMove(start_time=time(16), end_time=time(16, 45)),
        )
    assert info.value.existing_id == first.id
    db.refresh(second)
    assert (second.start_time, second.end_time) == (time(18), time(18, 45))
    moves = db.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "session.move", AuditEvent.subject_id == second.id)
    )
    assert moves == 0


def test_a_cancelled_session_cannot_be_moved_or_cancelled_again(db: Session) -> None:
    b = f.branch(db)
    row = f.private_session(db, branch_row=b, teacher_row=f.teacher(db), student_row=f.student(db))
    sessions.cancel(db, row.id, reason="ill", actor=ACTOR)
    assert row.status == SessionStatus.CANCELLED
    with pytest.raises(InvalidInput):
        sessions.move(db, row.id, move_in=SessionMove(date=date(2026, 12, 4)), actor=ACTOR)
    with pytest.raises(InvalidInput):
        sessions.cancel(db, row.id, reason="again", actor=ACTOR)


def test_moving_only_the_start_keeps_the_length(db: Session) -> None:
    b = f.branch(db)
    row = f.private_session(
        db,
        branch_row=b,
        teacher_row=f.teacher(db),
        student_row=f.student(db),
        start=time(20),
        end=time(21, 30),
    )
    sessions.move(db, row.id, move_in=SessionMove(start_time=time(18)), actor=ACTOR)
    assert (row.start_time, row.end_time) == (time(18), time(19, 30))


def test_a_cancellation_needs_a_reason(db: Session) -> None:
    b = f.branch(db)
    row = f.private_session(db, branch_row=b, teacher_row=f.teacher(db), student_row=f.student(db))
    with pytest.raises(InvalidInput) as info:
        sessions.cancel(db, row.id, reason="  ", actor=ACTOR)
    assert info.value.field == "reason"


def test_a_lesson_is_never_booked_or_moved_onto_a_closed_day(db: Session) -> None:
    # Closing a day cancels its lessons, and generation skips it; a one-off booked or a
    # lesson moved there afterwards was a live lesson on a closed day (doctor: a problem).
    from komawari.branches import service as branches

    b, t, s = f.branch(db), f.teacher(db), f.student(db)
    closed, open_day = date(2026, 12, 3), date(2026, 12, 4)
    branches.add_closure(db, b.id, closed, reason="typhoon", actor=ACTOR)
    book = {"branch_id": b.id, "teacher_id": t.id, "student_id": s.id}
    times = {"start_time": "16:00", "end_time": "16:45"}
    with pytest.raises(InvalidInput) as info:
        sessions.create_one_off(
            db,
            session_in=SessionCreate.model_validate({**book, **times, "date": closed}),
            actor=ACTOR,
        )
    assert info.value.field == "date"
    assert "closed" in str(info.value)
    lesson = sessions.create_one_off(
        db,
        session_in=SessionCreate.model_validate({**book, **times, "date": open_day}),
        actor=ACTOR,
    )
    with pytest.raises(InvalidInput):
        sessions.move(db, lesson.id, actor=ACTOR, move_in=SessionMove(date=closed))
    db.refresh(lesson)
    assert lesson.date == open_day
    moved = sessions.move(db, lesson.id, actor=ACTOR, move_in=SessionMove(start_time=time(17)))
    assert moved.date == open_day  # a move within an open day is untouched
