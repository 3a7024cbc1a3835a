"""The series lifecycle: create, pause, resume, shorten, extend, change from a date."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from komawari.audit.models import AuditEvent
from komawari.audit.service import Actor
from komawari.errors import DuplicateSeries, InvalidInput
from komawari.generation import service as generation
from komawari.generation.enums import RunTrigger
from komawari.series import enrolment, lifecycle
from komawari.series import service as series_service
from komawari.series.enums import SeriesStatus
from komawari.series.schemas import SeriesChange, SeriesCreate
from komawari.sessions import service as sessions
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from komawari.sessions.schemas import SessionMove
from tests import factories as f

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # Monday, noon in Tokyo
ACTOR = Actor("test", "pytest")


def _create(db: Session, now: datetime = NOW, **over: object) -> int:
    data = {
        "weekdays": ["mon", "thu"],
        "start_time": "20:00",
        "end_time": "21:30",
        "first_date": "2026-11-30",
        **over,
    }
    if "branch_id" not in data:
        data |= {
            "branch_id": f.branch(db).id,
            "teacher_id": f.teacher(db).id,
            "student_id": f.student(db).id,
        }
    series, _ = series_service.create(
        db, series_in=SeriesCreate.model_validate(data), actor=ACTOR, now=now
    )
    return series.id


def _live(db: Session, series_id: int) -> list[date]:
    return list(
        db.scalars(
            select(ClassSession.original_date)
            .where(
                ClassSession.series_id == series_id, ClassSession.status != SessionStatus.CANCELLED
            )
            .order_by(ClassSession.original_date)
        )
    )


def _audit(db: Session, action: str, series_id: int) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.series_id == series_id)
        )
        or 0
    )


def test_create_refuses_an_active_duplicate_and_names_it(db: Session) -> None:
    b, t, s = f.branch(db), f.teacher(db), f.student(db)
    key = {"branch_id": b.id, "teacher_id": t.id, "student_id": s.id}
    first = _create(db, **key)
    with pytest.raises(DuplicateSeries) as info:
        _create(db, **key, weekdays=["thu", 1, "monday"], first_date="2027-01-04")
    assert info.value.existing_id == first
    assert info.value.to_problem()["existing_series_url"] == f"/api/class-series/{first}"
    assert _audit(db, "series.create", first) == 1


def test_create_generates_up_to_the_horizon_at_once(db: Session) -> None:
    sid = _create(db)
    live = _live(db, sid)
    # Today through today + 56 days (a Monday again): 9 Mondays and 8 Thursdays.
    assert (live[0], live[-1], len(live)) == (date(2026, 11, 30), date(2027, 1, 25), 17)


def test_pause_keeps_future_sessions_unless_asked_and_generates_no_more(db: Session) -> None:
    sid = _create(db)
    kept = _live(db, sid)
    lifecycle.pause(db, sid, actor=ACTOR, reason="summer", now=NOW)
    later = datetime(2027, 1, 15, tzinfo=UTC)
    generation.generate_in(
        db, trigger=RunTrigger.CLI, scope=generation.Scope(now=later), actor=ACTOR
    )
    assert _live(db, sid) == kept
    assert _audit(db, "series.pause", sid) == 1


def test_pause_can_cancel_the_future_sessions(db: Session) -> None:
    sid = _create(db)
    _, cancelled = lifecycle.pause(
        db, sid, actor=ACTOR, cancel_future=True, now=datetime(2026, 12, 10, tzinfo=UTC)
    )
    assert _live(db, sid) == [date(2026, 11, 30), date(2026, 12, 3), date(2026, 12, 7)]
    assert len(cancelled) == 14


def test_resume_starts_from_today_and_never_backfills(db: Session) -> None:
    sid = _create(db, first_date="2026-11-30")
    lifecycle.pause(db, sid, actor=ACTOR, cancel_future=True, now=NOW)
    resumed_at = datetime(2027, 3, 1, 3, 0, tzinfo=UTC)  # a Monday
    lifecycle.resume(db, sid, actor=ACTOR, now=resumed_at)
    live = _live(db, sid)
    assert live[0] == date(2027, 3, 1)
    assert all(d >= date(2027, 3, 1) for d in live)
    assert _audit(db, "series.resume", sid) == 1


def test_shortening_cancels_the_sessions_after_the_new_last_date(db: Session) -> None:
    sid = _create(db)
    _, cancelled = lifecycle.end(
        db, sid, last_date=date(2026, 12, 7), actor=ACTOR, reason="moving away", now=NOW
    )
    assert _live(db, sid) == [date(2026, 11, 30), date(2026, 12, 3), date(2026, 12, 7)]
    assert len(cancelled) == 14
    reasons = set(
        db.scalars(
            select(ClassSession.cancel_reason).where(
                ClassSession.series_id == sid, ClassSession.status == SessionStatus.CANCELLED
            )
        )
    )
    assert reasons == {"series_ended: moving away"}
    assert series_service.get(db, sid).status == SeriesStatus.ACTIVE  # ends in the future


def test_extend_generates_at_once_and_never_recreates_cancelled_or_moved(db: Session) -> None:
    sid = _create(db, last_date="2026-12-10")
    assert _live(db, sid) == [
        date(2026, 11, 30),
        date(2026, 12, 3),
        date(2026, 12, 7),
        date(2026, 12, 10),
    ]
    by_date = {
        r.original_date: r
        for r in db.scalars(select(ClassSession).where(ClassSession.series_id == sid))
    }
    sessions.cancel(db, by_date[date(2026, 12, 3)].id, reason="teacher ill", actor=ACTOR)
    sessions.move(
        db, by_date[date(2026, 12, 7)].id, actor=ACTOR, move_in=SessionMove(date=date(2026, 12, 8))
    )
    _, result = lifecycle.extend(db, sid, last_date=date(2026, 12, 17), actor=ACTOR, now=NOW)
    assert result.counts.created == 2  # 14th and 17th only
    generation.generate_in(db, trigger=RunTrigger.CLI, scope=generation.Scope(now=NOW), actor=ACTOR)
    rows = db.scalars(select(ClassSession).where(ClassSession.series_id == sid)).all()
    assert sorted(r.original_date for r in rows) == [  # type: ignore[type-var]
        date(2026, 11, 30),
        date(2026, 12, 3),
        date(2026, 12, 7),
        date(2026, 12, 10),
        date(2026, 12, 14),
        date(2026, 12, 17),
    ]
    moved = next(r for r in rows if r.original_date == date(2026, 12, 7))
    assert moved.date == date(2026, 12, 8)
    assert _audit(db, "series.extend", sid) == 1


def test_extend_needs_a_later_date(db: Session) -> None:
    sid = _create(db, last_date="2026-12-10")
    with pytest.raises(InvalidInput) as info:
        lifecycle.extend(db, sid, last_date=date(2026, 12, 1), actor=ACTOR, now=NOW)
    assert info.value.field == "last_date"


def test_change_from_a_date_splits_the_series_in_one_go(db: Session) -> None:
    sid = _create(db)
    change = SeriesChange(
        from_date=date(2026, 12, 14), weekdays=["tue"], start_time=time(18), end_time=time(19)
    )
    new, result = lifecycle.change_from(db, sid, change=change, actor=ACTOR, now=NOW)
    old = series_service.get(db, sid)
    assert old.last_date == date(2026, 12, 13)
    assert _live(db, sid) == [
        date(2026, 11, 30),
        date(2026, 12, 3),
        date(2026, 12, 7),
        date(2026, 12, 10),
    ]
    new_dates = _live(db, new.id)
    assert new_dates[0] == date(2026, 12, 15)
    assert all(d.weekday() == 1 for d in new_dates)
    assert result.counts.created == len(new_dates)
    assert _audit(db, "series.change_from", sid) == 1


def test_change_from_with_the_same_key_steps_the_old_series_aside(db: Session) -> None:
    b = f.branch(db)
    room1, room2 = f.room(db, b), f.room(db, b)
    sid = _create(
        db,
        branch_id=b.id,
        teacher_id=f.teacher(db).id,
        student_id=f.student(db).id,
        room_id=room1.id,
    )
    new, _ = lifecycle.change_from(
        db,
        sid,
        change=SeriesChange(from_date=date(2026, 12, 14), room_id=room2.id),
        actor=ACTOR,
        now=NOW,
    )
    assert series_service.get(db, sid).status == SeriesStatus.ENDED
    assert _live(db, sid)[-1] == date(2026, 12, 10)
    assert _live(db, new.id)[0] == date(2026, 12, 14)


def test_bad_lifecycle_requests_name_the_field_and_change_nothing(db: Session) -> None:
    sid = _create(db)
    before = _live(db, sid)
    with pytest.raises(InvalidInput) as info:
        lifecycle.resume(db, sid, actor=ACTOR)
    assert info.value.field == "status"
    with pytest.raises(InvalidInput) as info:
        lifecycle.change_from(db, sid, change=SeriesChange(from_date=date(2026, 1, 1)), actor=ACTOR)
    assert info.value.field == "from_date"
    assert _live(db, sid) == before


def test_unenrolling_keeps_recorded_attendance(db: Session) -> None:
    from komawari.sessions.enums import Attendance
    from komawari.sessions.models import SessionAttendee

    b, s1, s2 = f.branch(db), f.student(db), f.student(db)
    data = {
        "branch_id": b.id,
        "teacher_id": f.teacher(db).id,
        "kind": "GROUP",
        "title": "Club",
        "capacity": 4,
        "student_ids": [s1.id, s2.id],
        "weekdays": [1],
        "start_time": "18:00",
        "end_time": "19:00",
        "first_date": "2026-11-30",
    }
    series, _ = series_service.create(
        db, series_in=SeriesCreate.model_validate(data), actor=ACTOR, now=NOW
    )
    first = db.scalar(
        select(ClassSession.id).where(
            ClassSession.series_id == series.id, ClassSession.original_date == date(2026, 11, 30)
        )
    )
    attended = db.get(SessionAttendee, (first, s1.id))
    assert attended is not None
    attended.attendance = Attendance.PRESENT
    db.flush()
    removed = enrolment.unenrol(
        db, series.id, student_id=s1.id, from_date=date(2026, 11, 30), actor=ACTOR
    )
    left = set(
        db.scalars(select(SessionAttendee.session_id).where(SessionAttendee.student_id == s1.id))
    )
    assert left == {first}
    assert removed == len(_live(db, series.id)) - 1
