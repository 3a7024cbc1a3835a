"""Generation: the rows of one run, whatever runs again; closures, pause and the watermark."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from komawari.audit.models import AuditEvent
from komawari.audit.service import Actor
from komawari.branches import service as branches
from komawari.generation import service as generation
from komawari.generation.enums import RunTrigger
from komawari.generation.verdict_sql import SMALL_BATCH
from komawari.series import enrolment, lifecycle
from komawari.series import service as series_service
from komawari.series.schemas import SeriesCreate
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from tests import factories as f

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # Monday 12:00 in Tokyo
ACTOR = Actor("test", "pytest")


def _series(db: Session, **over: object) -> int:
    b = over.pop("branch", None) or f.branch(db)
    data = {
        "branch_id": b.id,
        "teacher_id": f.teacher(db).id,
        "student_id": f.student(db).id,
        "weekdays": ["mon", "thu"],
        "start_time": "20:00",
        "end_time": "21:30",
        "first_date": "2026-11-30",
        **over,
    }
    series, _ = series_service.create(
        db, series_in=SeriesCreate.model_validate(data), actor=ACTOR, generate=False, now=NOW
    )
    return series.id


def _run(db: Session, **scope: object) -> generation.RunResult:
    return generation.generate_in(
        db, trigger=RunTrigger.CLI, scope=generation.Scope(now=NOW, **scope), actor=ACTOR
    )


def _dates(db: Session, series_id: int) -> list[date]:
    return list(
        db.scalars(
            select(ClassSession.original_date)
            .where(ClassSession.series_id == series_id)
            .order_by(ClassSession.original_date)
        )
    )


def test_a_series_is_materialised_on_its_weekdays_up_to_the_horizon(db: Session) -> None:
    sid = _series(db)
    result = _run(db, horizon_days=14)
    # Mon 30 Nov .. Mon 14 Dec: Mondays 30, 7, 14 and Thursdays 3, 10.
    assert _dates(db, sid) == [
        date(2026, 11, 30),
        date(2026, 12, 3),
        date(2026, 12, 7),
        date(2026, 12, 10),
        date(2026, 12, 14),
    ]
    assert result.counts.created == 5


def test_a_second_run_creates_nothing_and_does_no_work(db: Session) -> None:
    sid = _series(db)
    _run(db, horizon_days=14)
    again = _run(db, horizon_days=14)
    assert again.counts.created == 0
    assert again.counts.series_done == 0
    assert again.counts.skipped_existing == 0  # the watermark skipped the series entirely
    assert len(_dates(db, sid)) == 5


def test_existing_occurrences_are_counted_and_audited_when_met_again(db: Session) -> None:
    sid = _series(db)
    _run(db, horizon_days=14)
    # Lose the watermark, as a second host with stale data would: the key still holds.
    series = series_service.get(db, sid)
    series.generated_through = None
    db.flush()
    again = _run(db, horizon_days=14)
    assert again.counts.created == 0
    assert again.counts.skipped_existing == 5
    events = db.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "occurrence.skipped_existing", AuditEvent.series_id == sid)
    )
    assert events == 5


def test_every_n_weeks_counts_from_the_first_date(db: Session) -> None:
    sid = _series(db, weekdays=["wed"], first_date="2026-12-02", interval_weeks=2)
    _run(db, horizon_days=40)
    assert _dates(db, sid) == [date(2026, 12, 2), date(2026, 12, 16), date(2026, 12, 30)]


def test_closure_days_are_skipped_and_counted(db: Session) -> None:
    b = f.branch(db)
    branches.add_closure(db, b.id, date(2026, 12, 3), reason="holiday", actor=ACTOR)
    sid = _series(db, branch=b)
    result = _run(db, horizon_days=14)
    assert date(2026, 12, 3) not in _dates(db, sid)
    assert result.counts.skipped_closed == 1


def test_removing_a_closure_fills_the_day_again(db: Session) -> None:
    b = f.branch(db)
    sid = _series(db, branch=b)
    _run(db, horizon_days=14)
    cancelled = branches.add_closure(db, b.id, date(2026, 12, 3), reason="typhoon", actor=ACTOR)
    assert len(cancelled) == 1
    row = db.scalar(select(ClassSession).where(ClassSession.id == cancelled[0]))
    assert row is not None
    assert row.status == SessionStatus.CANCELLED
    assert row.cancel_reason == "branch_closed"
    outcome = branches.remove_closure(db, b.id, date(2026, 12, 3), actor=ACTOR)
    assert outcome["restored"] == 1
    db.refresh(row)
    assert row.status == SessionStatus.CONFIRMED
    assert len(_dates(db, sid)) == 5


def test_reopening_a_day_beyond_the_horizon_that_generation_already_passed_fills_it(
    db: Session,
) -> None:
    # A run told to go further than the horizon (`generate --through`, a longer horizon
    # then) skipped the closed day; reopening it must fill it, or it stays empty for good:
    # no later run goes back behind the watermark.
    b = f.branch(db)
    start = max(datetime.now(UTC), NOW).date() + timedelta(days=100)
    far = start + timedelta(days=(3 - start.weekday()) % 7)  # a Thursday past the horizon
    branches.add_closure(db, b.id, far, reason="typhoon", actor=ACTOR)
    sid = _series(db, branch=b)
    _run(db, through=far + timedelta(days=14))
    assert far not in _dates(db, sid)
    outcome = branches.remove_closure(db, b.id, far, actor=ACTOR)
    assert outcome["created"] == 1
    assert far in _dates(db, sid)


def _generated_past_a_closed_day(db: Session) -> tuple[int, int, date, datetime]:
    """Make a series from today and generate it past a closed Thursday two weeks on;
    return the series, its branch, the closed day and the `now` used."""
    now = max(datetime.now(UTC), NOW)
    b = f.branch(db)
    first = now.date()
    closed = first + timedelta(days=(3 - first.weekday()) % 7 + 14)  # a Thursday
    branches.add_closure(db, b.id, closed, reason="typhoon", actor=ACTOR)
    sid = _series(db, branch=b, first_date=first.isoformat())
    generation.generate_in(db, trigger=RunTrigger.CLI, scope=generation.Scope(now=now), actor=ACTOR)
    return sid, b.id, closed, now


def test_extending_a_shortened_series_fills_a_day_that_was_closed_when_generation_passed_it(
    db: Session,
) -> None:
    # Generation passed a closed day; the series was then shortened to end before it, the
    # day reopened (nothing to fill: the series ended earlier), and the series extended
    # past it again. Its watermark lies beyond the old last date, so generating from the
    # watermark alone would leave that day empty for good (found by the soak).
    sid, branch_id, closed, now = _generated_past_a_closed_day(db)
    assert closed not in _dates(db, sid)
    lifecycle.end(db, sid, last_date=closed - timedelta(days=3), actor=ACTOR, now=now)
    assert branches.remove_closure(db, branch_id, closed, actor=ACTOR)["created"] == 0
    _, run = lifecycle.extend(db, sid, last_date=closed + timedelta(days=7), actor=ACTOR, now=now)
    assert closed in _dates(db, sid)
    assert run.counts.created == 1  # the reopened day; the other days keep their rows
    live = db.scalars(
        select(ClassSession.original_date).where(
            ClassSession.series_id == sid, ClassSession.status != SessionStatus.CANCELLED
        )
    ).all()
    assert closed in live


def test_resuming_a_series_fills_a_day_that_was_reopened_while_it_was_paused(
    db: Session,
) -> None:
    # Generation passed a closed day; the series was paused, the day reopened (nothing to
    # fill: a paused series gets no rows), and the series resumed. Generating from the
    # watermark alone would leave that day empty for good (found by the soak).
    sid, branch_id, closed, now = _generated_past_a_closed_day(db)
    before = _dates(db, sid)
    assert closed not in before
    lifecycle.pause(db, sid, actor=ACTOR, now=now)
    assert branches.remove_closure(db, branch_id, closed, actor=ACTOR)["created"] == 0
    _, run, _ = lifecycle.resume(db, sid, actor=ACTOR, now=now)
    assert _dates(db, sid) == sorted([*before, closed])
    assert run.counts.created == 1  # the reopened day; the other days keep their rows


def test_paused_series_generate_nothing_and_are_counted(db: Session) -> None:
    sid = _series(db)
    lifecycle.pause(db, sid, actor=ACTOR, reason="holiday")
    result = _run(db, horizon_days=14)
    assert _dates(db, sid) == []
    assert result.counts.skipped_paused == 5


def test_a_group_session_carries_the_students_enrolled_that_day(db: Session) -> None:
    b = f.branch(db)
    s1, s2 = f.student(db), f.student(db)
    data = {
        "branch_id": b.id,
        "teacher_id": f.teacher(db).id,
        "kind": "GROUP",
        "title": "English B1",
        "capacity": 4,
        "student_ids": [s1.id],
        "weekdays": [1],
        "start_time": "18:00",
        "end_time": "19:00",
        "first_date": "2026-11-30",
    }
    series, _ = series_service.create(
        db, series_in=SeriesCreate.model_validate(data), actor=ACTOR, generate=False, now=NOW
    )
    enrolment.enrol(db, series.id, student_id=s2.id, from_date=date(2026, 12, 7), actor=ACTOR)
    _run(db, horizon_days=8)
    from komawari.sessions.models import SessionAttendee

    rows = db.execute(
        select(ClassSession.original_date, func.array_agg(SessionAttendee.student_id))
        .join(SessionAttendee, SessionAttendee.session_id == ClassSession.id)
        .where(ClassSession.series_id == series.id)
        .group_by(ClassSession.original_date)
        .order_by(ClassSession.original_date)
    ).all()
    assert [(d, sorted(ids)) for d, ids in rows] == [
        (date(2026, 11, 30), [s1.id]),
        (date(2026, 12, 7), sorted([s1.id, s2.id])),
    ]


def test_the_past_is_never_generated(db: Session) -> None:
    sid = _series(db, first_date="2026-11-01")
    _run(db, horizon_days=3)
    assert _dates(db, sid) == [date(2026, 11, 30), date(2026, 12, 3)]


def test_the_same_lesson_from_another_origin_is_not_duplicated(db: Session) -> None:
    b, t, s = f.branch(db), f.teacher(db), f.student(db)
    f.private_session(
        db,
        branch_row=b,
        teacher_row=t,
        student_row=s,
        day=date(2026, 12, 3),
        start=time(20),
        end=time(21, 30),
    )
    data = {
        "branch_id": b.id,
        "teacher_id": t.id,
        "student_id": s.id,
        "weekdays": ["thu"],
        "start_time": "20:00",
        "end_time": "21:30",
        "first_date": "2026-11-30",
    }
    series, _ = series_service.create(
        db, series_in=SeriesCreate.model_validate(data), actor=ACTOR, generate=False, now=NOW
    )
    result = _run(db, horizon_days=8)
    assert result.counts.skipped_duplicate == 1
    assert _dates(db, series.id) == []


@pytest.mark.parametrize("one_run", [True, False], ids=["made-together", "made-after"])
def test_lessons_conflict_across_zones_two_local_days_apart(db: Session, one_run: bool) -> None:
    # Thursday 00:30 at UTC+14 and Tuesday 23:00 at UTC-11 are both Wednesday ~10:30 UTC:
    # the same teacher cannot give both, though their local dates are two days apart.
    t = f.teacher(db)
    east = _series(
        db,
        branch=f.branch(db, time_zone="Pacific/Kiritimati"),
        teacher_id=t.id,
        weekdays=["thu"],
        start_time="00:30",
        end_time="01:30",
        first_date="2026-12-03",
    )
    west = _series(
        db,
        branch=f.branch(db, time_zone="Pacific/Pago_Pago"),
        teacher_id=t.id,
        weekdays=["tue"],
        start_time="23:00",
        end_time="23:45",
        first_date="2026-12-01",
    )
    conflicted = 0
    if not one_run:  # the west lessons then meet the east ones as existing sessions
        conflicted += _run(db, horizon_days=14, series_id=east).counts.conflicted
    conflicted += _run(db, horizon_days=14).counts.conflicted
    rows = db.scalars(select(ClassSession).where(ClassSession.series_id.in_([east, west]))).all()
    assert len(rows) == 4
    for r in rows:
        partner = next(
            o
            for o in rows
            if o.series_id != r.series_id and o.starts_at < r.ends_at and r.starts_at < o.ends_at
        )
        assert r.date - partner.date in (timedelta(days=2), timedelta(days=-2))
        if r.id > partner.id:
            assert r.status == SessionStatus.CONFLICTED
            assert r.conflicts_with == [partner.id]
        else:
            assert r.status == SessionStatus.CONFIRMED
    assert conflicted == 2


@pytest.mark.parametrize("horizon_days", [14, 84], ids=["few-rows", "many-rows"])
def test_a_new_group_lesson_conflicts_with_an_attendee_s_existing_group_lesson(
    db: Session, horizon_days: int
) -> None:
    # 8 students, every day: 14 days make 120 (row, student) pairs, read student by
    # student; 84 days make 680, read in one pass over the dates (verdict_sql.SMALL_BATCH).
    assert 15 * 8 < SMALL_BATCH < 85 * 8
    b = f.branch(db)
    shared = f.student(db)

    def group(title: str, students: list[int], weekdays: list[str], start: str) -> int:
        data = {
            "branch_id": b.id,
            "teacher_id": f.teacher(db).id,
            "kind": "GROUP",
            "title": title,
            "capacity": 8,
            "student_ids": students,
            "weekdays": weekdays,
            "start_time": start,
            "end_time": "19:00",
            "first_date": "2026-11-30",
        }
        series, _ = series_service.create(
            db, series_in=SeriesCreate.model_validate(data), actor=ACTOR, generate=False, now=NOW
        )
        return series.id

    first = group("Maths", [shared.id], ["wed"], "18:00")
    _run(db, horizon_days=horizon_days, series_id=first)
    others = [f.student(db).id for _ in range(7)]
    week = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    later = group("English", [shared.id, *others], week, "18:30")
    _run(db, horizon_days=horizon_days, series_id=later)
    made = db.scalars(select(ClassSession).where(ClassSession.series_id == later)).all()
    blockers = {
        s.date: s.id
        for s in db.scalars(select(ClassSession).where(ClassSession.series_id == first))
    }
    assert len(made) == horizon_days + 1
    for s in made:
        if s.date in blockers:
            assert s.status == SessionStatus.CONFLICTED
            assert s.conflicts_with == [blockers[s.date]]
        else:
            assert s.status == SessionStatus.CONFIRMED
    assert len(blockers) >= 2


def test_batches_take_a_teacher_s_series_together_and_miss_none(db: Session) -> None:
    # Series ids interleave three teachers; the walk goes teacher by teacher, and a cursor in
    # the middle of a teacher's series goes on with that teacher's next one.
    b = f.branch(db)
    teachers = sorted((f.teacher(db).id for _ in range(3)), reverse=True)
    made = [(t, _series(db, branch=b, teacher_id=t)) for _ in range(3) for t in teachers]
    scope = generation.Scope(now=NOW).pinned()
    walk, after = [], generation.START
    while page := generation.pending_series(db, scope, after=after, limit=2):
        walk += page
        after = page[-1]
    assert walk == sorted(made)
    assert _run(db).counts.series_done == len(made)
    assert all(_dates(db, series_id) for _, series_id in made)
