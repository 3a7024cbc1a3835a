"""Conflicts are shown: the earliest booking stays CONFIRMED, later overlapping ones say why."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from komawari.audit.service import Actor
from komawari.scheduling import conflict_rule as rule
from komawari.series.enums import SeriesKind
from komawari.sessions import reevaluate
from komawari.sessions import service as sessions
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession, SessionAttendee
from komawari.sessions.schemas import SessionCreate, SessionMove
from tests import factories as f

ACTOR = Actor("test", "pytest")
DAY = date(2026, 12, 3)


def _book(
    db: Session,
    b: object,
    t: object,
    s: object,
    start: str,
    end: str,
    day: date = DAY,
    room: object | None = None,
) -> ClassSession:
    data = SessionCreate(
        branch_id=b.id,
        teacher_id=t.id,
        student_id=s.id,  # type: ignore[attr-defined]
        date=day,
        start_time=start,
        end_time=end,  # type: ignore[arg-type]
        room_id=room.id if room else None,
    )  # type: ignore[attr-defined]
    return sessions.create_one_off(db, session_in=data, actor=ACTOR)


def test_the_later_booking_of_a_teacher_is_conflicted_and_names_the_earlier(db: Session) -> None:
    b, t = f.branch(db), f.teacher(db)
    first = _book(db, b, t, f.student(db), "18:00", "19:00")
    second = _book(db, b, t, f.student(db), "18:30", "19:30")
    db.refresh(first)
    assert first.status == SessionStatus.CONFIRMED
    assert second.status == SessionStatus.CONFLICTED
    assert second.conflicts_with == [first.id]


def test_touching_lessons_do_not_overlap(db: Session) -> None:
    b, t = f.branch(db), f.teacher(db)
    _book(db, b, t, f.student(db), "18:00", "19:00")
    assert _book(db, b, t, f.student(db), "19:00", "20:00").status == SessionStatus.CONFIRMED


def test_cancelling_the_blocker_confirms_its_partner_at_once(db: Session) -> None:
    b, s = f.branch(db), f.student(db)
    first = _book(db, b, f.teacher(db), s, "18:00", "19:00")
    second = _book(db, b, f.teacher(db), s, "18:30", "19:30")
    assert second.status == SessionStatus.CONFLICTED
    sessions.cancel(db, first.id, reason="student ill", actor=ACTOR)
    db.refresh(second)
    assert second.status == SessionStatus.CONFIRMED
    assert second.conflicts_with == []


def test_moving_the_blocker_away_confirms_the_partner_and_moving_into_a_slot_conflicts(
    db: Session,
) -> None:
    b, t = f.branch(db), f.teacher(db)
    first = _book(db, b, t, f.student(db), "18:00", "19:00")
    second = _book(db, b, t, f.student(db), "18:00", "19:00")
    third = _book(db, b, t, f.student(db), "20:00", "21:00")
    sessions.move(db, first.id, move_in=SessionMove(start_time="20:30"), actor=ACTOR)  # type: ignore[arg-type]
    for row in (first, second, third):
        db.refresh(row)
    assert second.status == SessionStatus.CONFIRMED  # its blocker left
    # first was booked before third, so first keeps the slot and third is conflicted.
    assert (first.start_time, first.end_time) == (time(20, 30), time(21, 30))
    assert first.status == SessionStatus.CONFIRMED
    assert third.status == SessionStatus.CONFLICTED
    assert third.conflicts_with == [first.id]


def test_a_shared_room_conflicts(db: Session) -> None:
    b = f.branch(db)
    room = f.room(db, b)
    _book(db, b, f.teacher(db), f.student(db), "18:00", "19:00", room=room)
    later = _book(db, b, f.teacher(db), f.student(db), "18:30", "19:00", room=room)
    assert later.status == SessionStatus.CONFLICTED


def test_a_group_attendee_conflicts_with_their_private_lesson(db: Session) -> None:
    b, s = f.branch(db), f.student(db)
    group = sessions.create_one_off(
        db,
        session_in=SessionCreate(
            branch_id=b.id,
            teacher_id=f.teacher(db).id,
            kind="GROUP",
            title="Club",
            student_ids=[s.id, f.student(db).id],
            date=DAY,
            start_time="10:00",  # type: ignore[arg-type]
            end_time="11:00",
        ),
        actor=ACTOR,
    )  # type: ignore[arg-type]
    private = _book(db, b, f.teacher(db), s, "10:30", "11:30")
    assert group.status == SessionStatus.CONFIRMED
    assert private.status == SessionStatus.CONFLICTED
    assert private.conflicts_with == [group.id]


def test_branches_in_different_zones_compare_instants(db: Session) -> None:
    tokyo, london = f.branch(db, time_zone="Asia/Tokyo"), f.branch(db, time_zone="Europe/London")
    t = f.teacher(db)
    # 10:00-11:00 in Tokyo is 01:00-02:00 in London (GMT) on the same date.
    _book(db, tokyo, t, f.student(db), "10:00", "11:00")
    online = _book(db, london, t, f.student(db), "01:30", "02:30")
    assert online.status == SessionStatus.CONFLICTED
    elsewhere = _book(db, london, t, f.student(db), "10:00", "11:00")
    assert elsewhere.status == SessionStatus.CONFIRMED


def test_an_exact_duplicate_is_refused_not_conflicted(db: Session) -> None:
    import pytest

    from komawari.errors import DuplicateSession

    b, t, s = f.branch(db), f.teacher(db), f.student(db)
    first = _book(db, b, t, s, "20:00", "21:30")
    with pytest.raises(DuplicateSession) as info:
        _book(db, b, t, s, "20:00", "21:30")
    assert info.value.existing_id == first.id


# --- the SQL evaluation agrees with the pure rule -------------------------------------

slots = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.integers(0, 2),
        st.integers(0, 3),
        st.integers(0, 20),
        st.integers(1, 6),
        st.booleans(),
        st.booleans(),
    ),
    min_size=1,
    max_size=14,
)


@settings(
    max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(slots)
def test_sql_verdicts_match_the_rule(db: Session, spec: list[tuple[int, ...]]) -> None:
    savepoint = db.begin_nested()
    b = f.branch(db)
    teachers = [f.teacher(db) for _ in range(3)]
    students = [f.student(db) for _ in range(3)]
    rooms = [f.room(db, b) for _ in range(2)]
    base = datetime(2026, 12, 3, 9, 0)
    ids = []
    for ti, si, ri, start, length, cancelled, group in spec:
        begin = base + timedelta(minutes=30 * start)
        end = begin + timedelta(minutes=30 * length)
        if end.date() != begin.date():
            continue
        row = ClassSession(
            branch_id=b.id,
            time_zone=b.time_zone,
            date=DAY,
            start_time=begin.time(),
            end_time=end.time(),
            teacher_id=teachers[ti].id,
            kind=SeriesKind.GROUP if group else SeriesKind.PRIVATE,
            student_id=None if group else students[si].id,
            title="G" if group else None,
            room_id=rooms[ri].id if ri < 2 else None,
            status=SessionStatus.CANCELLED if cancelled else SessionStatus.CONFIRMED,
            cancel_reason="x" if cancelled else None,
        )
        nested = db.begin_nested()
        db.add(row)
        try:
            db.flush()
            nested.commit()
        except Exception:
            nested.rollback()  # an exact duplicate: the guard refuses it, as it should
            continue
        if group:
            db.add(SessionAttendee(session_id=row.id, student_id=students[si].id))
            db.flush()
        ids.append(row.id)
    reevaluate.evaluate(db, ids)
    rows = db.scalars(
        select(ClassSession)
        .where(ClassSession.id.in_(ids))
        .execution_options(populate_existing=True)
    ).all()
    attendees = dict(
        db.execute(
            text(
                "SELECT session_id, array_agg(student_id) FROM session_attendees "
                "WHERE session_id = ANY(:ids) GROUP BY session_id"
            ),
            {"ids": ids},
        ).all()
    )
    model = rule.evaluate(
        rule.Slot(
            id=r.id,
            starts_at=r.starts_at,
            ends_at=r.ends_at,
            booked_at=r.created_at,
            teacher_id=r.teacher_id,
            student_ids=frozenset([r.student_id] if r.student_id else attendees.get(r.id, [])),
            room_id=r.room_id,
            cancelled=r.status == SessionStatus.CANCELLED,
        )
        for r in rows
    )
    for r in rows:
        if r.status == SessionStatus.CANCELLED:
            assert r.id not in model
            continue
        assert r.conflicts_with == model[r.id], r.id
        expected = SessionStatus.CONFLICTED if model[r.id] else SessionStatus.CONFIRMED
        assert r.status == expected
    savepoint.rollback()
