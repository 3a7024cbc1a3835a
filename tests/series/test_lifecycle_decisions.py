"""The series lifecycle's decisions: which status a series gets, which lessons it cancels.

Each test names one decision of series/lifecycle.py (pause, resume, end, extend, change
from a date) and checks what it leaves: the series' status and reason, the lessons
cancelled with their reason, and the audit record that says who did what.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from komawari.audit.models import AuditEvent
from komawari.audit.service import Actor
from komawari.errors import DuplicateSeries, InvalidInput
from komawari.generation.enums import RunTrigger
from komawari.generation.models import GenerationRun
from komawari.series import lifecycle
from komawari.series import service as series_service
from komawari.series.enums import SeriesStatus
from komawari.series.models import ClassSeries, SeriesEnrolment, SeriesPauseRecord
from komawari.series.schemas import SeriesChange, SeriesCreate
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from tests import factories as f
from tests.factories import bookings

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # Monday, noon in Tokyo
ACTOR = Actor("test", "pytest")


def _series(db: Session, **over: object) -> ClassSeries:
    data: dict[str, object] = {
        "weekdays": ["mon", "thu"],
        "start_time": "20:00",
        "end_time": "21:30",
        "first_date": "2026-11-30",
        **over,
    }
    if "branch_id" not in data:
        data |= {"branch_id": f.branch(db).id, "teacher_id": f.teacher(db).id}
        if data.get("kind") != "GROUP":
            data["student_id"] = f.student(db).id
    made, _ = series_service.create(
        db, series_in=SeriesCreate.model_validate(data), actor=ACTOR, now=NOW
    )
    return made


def _lessons(db: Session, series_id: int) -> dict[date, ClassSession]:
    query = select(ClassSession).where(ClassSession.series_id == series_id)
    return {r.original_date: r for r in db.scalars(query)}  # type: ignore[misc]


def _live(db: Session, series_id: int) -> list[date]:
    return sorted(d for d, r in _lessons(db, series_id).items() if r.status != "CANCELLED")


def _event(db: Session, action: str) -> dict[str, Any]:
    rows = db.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()
    assert len(rows) == 1, f"{len(rows)} {action} events"
    e = rows[0]
    return {
        "actor": (e.actor_type, e.actor),
        "subject": (e.subject_type, e.subject_id),
        "branch_id": e.branch_id,
        "series_id": e.series_id,
        "reason": e.reason,
        "details": e.details,
    }


def _run(db: Session, run_id: int) -> tuple[RunTrigger, int | None, str]:
    """Return what a generation run was for: its trigger, its one series, its actor."""
    run = db.get_one(GenerationRun, run_id)
    return run.trigger, run.series_id, run.actor


def _refused(field: str, call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(InvalidInput) as info:
        call(*args, **kwargs)
    assert info.value.field == field
    return str(info.value.extra["errors"][0]["message"])


# pause


def _pause_id(db: Session, series_id: int) -> int:
    """The id of the series' one pause row."""
    return db.scalars(
        select(SeriesPauseRecord.id).where(SeriesPauseRecord.series_id == series_id)
    ).one()


def test_pause_marks_the_series_paused_with_its_reason_and_audits_it(db: Session) -> None:
    s = _series(db)
    paused, cancelled = lifecycle.pause(db, s.id, actor=ACTOR, reason="summer", now=NOW)
    assert (paused.status, paused.status_reason, cancelled) == (SeriesStatus.PAUSED, "summer", [])
    assert _event(db, "series.pause") == {
        "actor": ("test", "pytest"),
        "subject": ("series", s.id),
        "branch_id": s.branch_id,
        "series_id": s.id,
        "reason": "summer",
        "details": {"cancel_future": False, "pause_id": _pause_id(db, s.id)},
    }


def test_only_an_active_series_can_be_paused(db: Session) -> None:
    s = _series(db)
    lifecycle.pause(db, s.id, actor=ACTOR, now=NOW)
    message = _refused("status", lifecycle.pause, db, s.id, actor=ACTOR, now=NOW)
    assert message == "this series is PAUSED, not active"


def test_pausing_with_cancel_cancels_from_today_in_the_branch_zone(db: Session) -> None:
    s = _series(db)
    # 20:00 UTC on Sunday the 29th is already Monday the 30th in Tokyo: that lesson goes too.
    sunday_night = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
    _, cancelled = lifecycle.pause(db, s.id, actor=ACTOR, cancel_future=True, now=sunday_night)
    lessons = _lessons(db, s.id)
    assert _live(db, s.id) == []
    assert sorted(cancelled) == sorted(r.id for r in lessons.values())
    first = lessons[date(2026, 11, 30)]
    assert (first.cancel_reason, first.conflicts_with) == ("series_paused", [])
    assert first.cancelled_at is not None
    assert _event(db, "series.pause.cancel_sessions") == {
        "actor": ("test", "pytest"),
        "subject": ("session", None),
        "branch_id": None,
        "series_id": None,
        "reason": "series_paused",
        "details": {"session_ids": cancelled, "count": len(cancelled)},
    }


def test_pausing_with_cancel_and_a_reason_gives_the_lessons_that_reason(db: Session) -> None:
    s = _series(db)
    lifecycle.pause(db, s.id, actor=ACTOR, reason="summer", cancel_future=True, now=NOW)
    reasons = {r.cancel_reason for r in _lessons(db, s.id).values()}
    assert reasons == {"series_paused: summer"}


def test_pausing_leaves_an_already_cancelled_lesson_and_its_reason_alone(db: Session) -> None:
    s = _series(db)
    ill = _lessons(db, s.id)[date(2026, 12, 3)]
    bookings.cancel(db, ill.id)
    _, cancelled = lifecycle.pause(db, s.id, actor=ACTOR, cancel_future=True, now=NOW)
    assert ill.id not in cancelled
    db.refresh(ill)
    assert ill.cancel_reason == "test"


def test_cancelling_a_series_lesson_frees_the_lesson_it_blocked(db: Session) -> None:
    s = _series(db)
    later = bookings.one_off(
        db,
        branch_id=s.branch_id,
        teacher_id=s.teacher_id,
        student_id=f.student(db).id,
        date="2026-12-03",
        start_time="20:30",
        end_time="21:00",
    )
    assert later.status == SessionStatus.CONFLICTED
    lifecycle.pause(db, s.id, actor=ACTOR, cancel_future=True, now=NOW)
    db.refresh(later)
    assert (later.status, later.conflicts_with) == (SessionStatus.CONFIRMED, [])


def test_a_clashing_lesson_cancelled_with_its_series_names_no_clash_any_more(
    db: Session,
) -> None:
    b, teacher = f.branch(db), f.teacher(db)
    bookings.one_off(
        db,
        branch_id=b.id,
        teacher_id=teacher.id,
        student_id=f.student(db).id,
        date="2026-12-03",
        start_time="20:30",
        end_time="21:00",
    )
    s = _series(db, branch_id=b.id, teacher_id=teacher.id, student_id=f.student(db).id)
    clashing = _lessons(db, s.id)[date(2026, 12, 3)]
    assert clashing.status == SessionStatus.CONFLICTED
    lifecycle.pause(db, s.id, actor=ACTOR, cancel_future=True, now=NOW)
    db.refresh(clashing)
    assert (clashing.status, clashing.conflicts_with) == (SessionStatus.CANCELLED, [])


# resume


def test_resume_makes_the_series_active_again_without_a_reason_and_audits_it(
    db: Session,
) -> None:
    s = _series(db)
    lifecycle.pause(db, s.id, actor=ACTOR, reason="summer", now=NOW)
    resumed, result, _ = lifecycle.resume(db, s.id, actor=ACTOR, now=NOW)
    assert (resumed.status, resumed.status_reason) == (SeriesStatus.ACTIVE, None)
    assert _run(db, result.run_id) == (RunTrigger.LIFECYCLE, s.id, "test:pytest")
    assert _event(db, "series.resume") == {
        "actor": ("test", "pytest"),
        "subject": ("series", s.id),
        "branch_id": s.branch_id,
        "series_id": s.id,
        "reason": None,
        "details": {"pause_ids": [_pause_id(db, s.id)], "restored": [], "kept_cancelled": {}},
    }


def test_only_a_paused_series_can_be_resumed(db: Session) -> None:
    s = _series(db)
    message = _refused("status", lifecycle.resume, db, s.id, actor=ACTOR, now=NOW)
    assert message == "this series is active and not on a break"


def test_resume_is_refused_while_a_copy_of_the_series_is_active(db: Session) -> None:
    s = _series(db)
    lifecycle.pause(db, s.id, actor=ACTOR, now=NOW)
    copy = _series(db, branch_id=s.branch_id, teacher_id=s.teacher_id, student_id=s.student_id)
    with pytest.raises(DuplicateSeries) as info:
        lifecycle.resume(db, s.id, actor=ACTOR, now=NOW)
    assert info.value.existing_id == copy.id
    assert series_service.get(db, s.id).status == SeriesStatus.PAUSED


def test_resume_never_moves_the_watermark_back(db: Session) -> None:
    s = _series(db)
    horizon = s.generated_through
    lifecycle.pause(db, s.id, actor=ACTOR, now=NOW)
    resumed, _, _ = lifecycle.resume(db, s.id, actor=ACTOR, now=NOW)
    assert resumed.generated_through == horizon


def test_resume_after_the_watermark_starts_from_today_not_the_day_after_the_watermark(
    db: Session,
) -> None:
    s = _series(db)
    lifecycle.pause(db, s.id, actor=ACTOR, cancel_future=True, now=NOW)
    db.execute(
        ClassSeries.__table__.update()
        .where(ClassSeries.id == s.id)
        .values(generated_through=date(2026, 12, 1))
    )
    db.expire_all()
    lifecycle.resume(db, s.id, actor=ACTOR, now=datetime(2027, 3, 1, 3, 0, tzinfo=UTC))
    assert _live(db, s.id)[0] == date(2027, 3, 1)


# end


def test_ending_on_a_past_day_ends_the_series_with_its_reason_and_audits_it(
    db: Session,
) -> None:
    s = _series(db)
    ended, cancelled = lifecycle.end(
        db,
        s.id,
        last_date=date(2026, 12, 3),
        actor=ACTOR,
        reason="moved",
        now=datetime(2026, 12, 10, tzinfo=UTC),
    )
    assert (ended.status, ended.status_reason, ended.last_date) == (
        SeriesStatus.ENDED,
        "moved",
        date(2026, 12, 3),
    )
    assert _live(db, s.id) == [date(2026, 11, 30), date(2026, 12, 3)]
    assert len(cancelled) == 15
    assert _event(db, "series.end") == {
        "actor": ("test", "pytest"),
        "subject": ("series", s.id),
        "branch_id": s.branch_id,
        "series_id": s.id,
        "reason": "moved",
        "details": {"last_date": "2026-12-03", "previous_last_date": "None"},
    }
    assert _event(db, "series.end.cancel_sessions")["reason"] == "series_ended: moved"


def test_ending_today_keeps_the_series_active_until_tomorrow(db: Session) -> None:
    s = _series(db)
    ended, _ = lifecycle.end(db, s.id, last_date=date(2026, 11, 30), actor=ACTOR, now=NOW)
    assert (ended.status, ended.last_date) == (SeriesStatus.ACTIVE, date(2026, 11, 30))
    assert _live(db, s.id) == [date(2026, 11, 30)]
    reasons = {r.cancel_reason for r in _lessons(db, s.id).values() if r.status == "CANCELLED"}
    assert reasons == {"series_ended"}


def test_ending_before_the_first_day_ends_it_and_keeps_its_dates(db: Session) -> None:
    s = _series(db, first_date="2026-12-07")
    ended, _ = lifecycle.end(db, s.id, last_date=date(2026, 12, 6), actor=ACTOR, now=NOW)
    assert (ended.status, ended.last_date) == (SeriesStatus.ENDED, None)
    assert _live(db, s.id) == []


def test_an_ended_series_cannot_be_ended_again(db: Session) -> None:
    s = _series(db)
    lifecycle.end(db, s.id, last_date=date(2026, 11, 1), actor=ACTOR, now=NOW)
    message = _refused(
        "status", lifecycle.end, db, s.id, last_date=date(2026, 11, 1), actor=ACTOR, now=NOW
    )
    assert message == "this series has already ended"


def test_ending_may_keep_the_last_date_but_not_move_it_later(db: Session) -> None:
    s = _series(db, last_date="2026-12-10")
    message = _refused(
        "last_date", lifecycle.end, db, s.id, last_date=date(2026, 12, 11), actor=ACTOR, now=NOW
    )
    assert message == "is later than the current last date; extend the series instead"
    ended, _ = lifecycle.end(db, s.id, last_date=date(2026, 12, 10), actor=ACTOR, now=NOW)
    assert (ended.status, ended.last_date) == (SeriesStatus.ACTIVE, date(2026, 12, 10))
    assert _event(db, "series.end")["details"]["previous_last_date"] == "2026-12-10"


# extend


def test_extend_moves_the_last_date_says_why_and_audits_it(db: Session) -> None:
    s = _series(db, last_date="2026-12-10")
    extended, result = lifecycle.extend(
        db, s.id, last_date=date(2026, 12, 17), actor=ACTOR, now=NOW
    )
    assert extended.last_date == date(2026, 12, 17)
    assert extended.status_reason == "extended to 2026-12-17 (was 2026-12-10)"
    assert _run(db, result.run_id) == (RunTrigger.EXTEND, s.id, "test:pytest")
    assert _event(db, "series.extend") == {
        "actor": ("test", "pytest"),
        "subject": ("series", s.id),
        "branch_id": s.branch_id,
        "series_id": s.id,
        "reason": None,
        "details": {"last_date": "2026-12-17", "previous_last_date": "2026-12-10"},
    }


def test_extend_to_no_last_date_makes_the_series_open_ended(db: Session) -> None:
    s = _series(db, last_date="2026-12-10")
    extended, result = lifecycle.extend(
        db, s.id, last_date=None, actor=ACTOR, trigger=RunTrigger.API, now=NOW
    )
    assert extended.last_date is None
    assert extended.status_reason == "extended to open-ended (was 2026-12-10)"
    assert _live(db, s.id)[-1] == date(2027, 1, 25)
    assert _run(db, result.run_id) == (RunTrigger.API, s.id, "test:pytest")


def test_extending_an_open_ended_series_to_open_ended_changes_no_date(db: Session) -> None:
    s = _series(db)
    horizon = _live(db, s.id)[-1]
    extended, result = lifecycle.extend(db, s.id, last_date=None, actor=ACTOR, now=NOW)
    assert (extended.last_date, result.counts.created) == (None, 0)
    assert _live(db, s.id)[-1] == horizon


def test_extend_refuses_an_open_ended_series_a_paused_one_and_the_same_date(
    db: Session,
) -> None:
    open_ended = _series(db)
    message = _refused(
        "last_date",
        lifecycle.extend,
        db,
        open_ended.id,
        last_date=date(2027, 6, 1),
        actor=ACTOR,
        now=NOW,
    )
    assert message == "the series has no last date; nothing to extend"
    s = _series(db, last_date="2026-12-10")
    message = _refused(
        "last_date", lifecycle.extend, db, s.id, last_date=date(2026, 12, 10), actor=ACTOR, now=NOW
    )
    assert message == "must be after the current last date 2026-12-10"
    lifecycle.pause(db, s.id, actor=ACTOR, now=NOW)
    message = _refused(
        "status", lifecycle.extend, db, s.id, last_date=date(2027, 1, 1), actor=ACTOR, now=NOW
    )
    assert message == "this series is PAUSED, not active"


# change from a date


def test_a_change_keeps_every_field_it_does_not_name(db: Session) -> None:
    b = f.branch(db)
    room = f.room(db, b)
    s = _series(
        db,
        branch_id=b.id,
        teacher_id=f.teacher(db).id,
        student_id=f.student(db).id,
        room_id=room.id,
        interval_weeks=2,
        last_date="2027-03-01",
    )
    new, result = lifecycle.change_from(
        db,
        s.id,
        change=SeriesChange(from_date=date(2026, 12, 14), start_time=time(19)),
        actor=ACTOR,
        now=NOW,
    )
    # The new series is generated at once, by a run for it alone, in the caller's name.
    assert _run(db, result.run_id) == (RunTrigger.LIFECYCLE, new.id, "test:pytest")
    kept = ("branch_id", "teacher_id", "kind", "student_id", "title", "capacity", "room_id")
    assert {k: getattr(new, k) for k in kept} == {k: getattr(s, k) for k in kept}
    assert (new.weekdays, new.end_time, new.last_date, new.interval_weeks) == (
        s.weekdays,
        s.end_time,
        date(2027, 3, 1),
        2,
    )
    assert (new.start_time, new.first_date, new.status) == (
        time(19),
        date(2026, 12, 14),
        SeriesStatus.ACTIVE,
    )
    old = series_service.get(db, s.id)
    assert (old.status, old.last_date) == (SeriesStatus.ACTIVE, date(2026, 12, 13))
    assert old.status_reason == "changed from 2026-12-14 into a new series"


def test_a_change_takes_every_field_it_names(db: Session) -> None:
    b = f.branch(db)
    s = _series(db, branch_id=b.id, teacher_id=f.teacher(db).id, student_id=f.student(db).id)
    teacher, room = f.teacher(db), f.room(db, b)
    change = SeriesChange(
        from_date=date(2026, 12, 14),
        teacher_id=teacher.id,
        room_id=room.id,
        weekdays=["tue"],
        start_time=time(8),
        end_time=time(9),
        interval_weeks=3,
        last_date=date(2027, 2, 1),
    )
    new, _ = lifecycle.change_from(db, s.id, change=change, actor=ACTOR, now=NOW)
    assert (new.teacher_id, new.room_id, new.weekdays) == (teacher.id, room.id, 2)
    assert (new.start_time, new.end_time, new.interval_weeks, new.last_date) == (
        time(8),
        time(9),
        3,
        date(2027, 2, 1),
    )
    assert _live(db, new.id)[:2] == [date(2026, 12, 15), date(2027, 1, 5)]
    assert _event(db, "series.change_from") == {
        "actor": ("test", "pytest"),
        "subject": ("series", s.id),
        "branch_id": s.branch_id,
        "series_id": s.id,
        "reason": None,
        "details": {
            "new_series_id": new.id,
            "from_date": "2026-12-14",
            "cancelled": 13,
            "change": change.model_dump(mode="json", exclude_none=True),
        },
    }


def test_a_change_from_the_first_day_ends_the_old_series_and_cancels_all_of_it(
    db: Session,
) -> None:
    s = _series(db)
    new, _ = lifecycle.change_from(
        db,
        s.id,
        change=SeriesChange(from_date=date(2026, 11, 30), start_time=time(18), end_time=time(19)),
        actor=ACTOR,
        now=NOW,
    )
    old = series_service.get(db, s.id)
    assert (old.status, old.last_date) == (SeriesStatus.ENDED, None)
    assert _live(db, s.id) == []
    reasons = {r.cancel_reason for r in _lessons(db, s.id).values()}
    assert reasons == {"series_changed from 2026-11-30"}
    assert _live(db, new.id)[0] == date(2026, 11, 30)


def test_a_change_on_the_last_day_is_allowed_one_after_it_is_not(db: Session) -> None:
    s = _series(db, last_date="2026-12-10")
    message = _refused(
        "from_date",
        lifecycle.change_from,
        db,
        s.id,
        change=SeriesChange(from_date=date(2026, 12, 11), start_time=time(18), end_time=time(19)),
        actor=ACTOR,
        now=NOW,
    )
    assert message == "must fall within the series' dates"
    new, _ = lifecycle.change_from(
        db,
        s.id,
        change=SeriesChange(from_date=date(2026, 12, 10), start_time=time(18), end_time=time(19)),
        actor=ACTOR,
        now=NOW,
    )
    assert _live(db, new.id) == [date(2026, 12, 10)]
    assert _live(db, s.id) == [date(2026, 11, 30), date(2026, 12, 3), date(2026, 12, 7)]


def test_a_change_must_end_after_it_starts_and_after_its_first_day(db: Session) -> None:
    s = _series(db)
    start = date(2026, 12, 14)
    message = _refused(
        "end_time",
        lifecycle.change_from,
        db,
        s.id,
        change=SeriesChange(from_date=start, start_time=time(21, 30)),
        actor=ACTOR,
        now=NOW,
    )
    assert message == "must be after the start time"
    message = _refused(
        "last_date",
        lifecycle.change_from,
        db,
        s.id,
        change=SeriesChange(from_date=start, last_date=date(2026, 12, 13)),
        actor=ACTOR,
        now=NOW,
    )
    assert message == "must not be before the date the change starts"
    new, _ = lifecycle.change_from(
        db,
        s.id,
        change=SeriesChange(from_date=start, last_date=start, start_time=time(7), end_time=time(8)),
        actor=ACTOR,
        now=NOW,
    )
    assert _live(db, new.id) == [start]


def test_only_an_active_series_can_be_changed(db: Session) -> None:
    s = _series(db)
    lifecycle.pause(db, s.id, actor=ACTOR, now=NOW)
    message = _refused(
        "status",
        lifecycle.change_from,
        db,
        s.id,
        change=SeriesChange(from_date=date(2026, 12, 14)),
        actor=ACTOR,
        now=NOW,
    )
    assert message == "this series is PAUSED, not active"


def test_a_change_carries_the_enrolments_still_running_on_its_first_day(db: Session) -> None:
    b = f.branch(db)
    staying, leaving, joining = f.student(db), f.student(db), f.student(db)
    s = _series(
        db,
        branch_id=b.id,
        teacher_id=f.teacher(db).id,
        kind="GROUP",
        title="Club",
        capacity=5,
        student_ids=[staying.id, leaving.id],
    )
    # Another group of the branch: its students stay in it.
    _series(
        db,
        branch_id=b.id,
        teacher_id=f.teacher(db).id,
        kind="GROUP",
        title="Other club",
        capacity=5,
        student_ids=[f.student(db).id],
    )
    db.execute(
        SeriesEnrolment.__table__.update()
        .where(SeriesEnrolment.series_id == s.id, SeriesEnrolment.student_id == leaving.id)
        .values(until_date=date(2026, 12, 13))
    )
    db.add(
        SeriesEnrolment(
            series_id=s.id, student_id=joining.id, from_date=date(2027, 1, 4), until_date=None
        )
    )
    staying_until = date(2027, 2, 1)
    db.execute(
        SeriesEnrolment.__table__.update()
        .where(SeriesEnrolment.series_id == s.id, SeriesEnrolment.student_id == staying.id)
        .values(until_date=staying_until)
    )
    db.flush()
    db.expire_all()
    new, _ = lifecycle.change_from(
        db,
        s.id,
        change=SeriesChange(from_date=date(2026, 12, 14), start_time=time(18), end_time=time(19)),
        actor=ACTOR,
        now=NOW,
    )
    carried = db.scalars(select(SeriesEnrolment).where(SeriesEnrolment.series_id == new.id)).all()
    assert sorted((e.student_id, e.from_date, e.until_date) for e in carried) == sorted(
        [
            (staying.id, date(2026, 12, 14), staying_until),
            (joining.id, date(2027, 1, 4), None),
        ]
    )
