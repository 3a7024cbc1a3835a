"""Who may be booked, and when a teacher, student or room may be deactivated.

The decisions of people/status.py, through its functions on real rows: a missing or
deactivated person or room is refused naming the field; deactivation waits for every
series that is not ENDED and still names them, and is recorded once.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from komawari.audit.models import AuditEvent
from komawari.audit.service import Actor
from komawari.errors import Conflict, InvalidInput
from komawari.people import status
from komawari.scheduling import clock
from komawari.series.enums import SeriesKind, SeriesStatus
from komawari.series.models import ClassSeries, SeriesEnrolment
from tests import factories as f

ACTOR = Actor("test", "pytest")
MISSING = 999_999


def _refused(db: Session, **refs: Any) -> tuple[str, str]:
    with pytest.raises(InvalidInput) as info:
        status.check_bookable(db, **refs)
    return info.value.field, str(info.value.extra["errors"][0]["message"])


def _off(db: Session, row: Any) -> Any:
    row.active = False
    db.flush()
    return row


def test_active_people_and_a_room_of_the_branch_may_be_booked(db: Session) -> None:
    b = f.branch(db)
    room = f.room(db, b)
    status.check_bookable(
        db,
        teacher_id=f.teacher(db).id,
        student_ids=[f.student(db).id, f.student(db).id],
        room_id=room.id,
        branch_id=b.id,
    )
    status.check_bookable(db, room_id=room.id)  # no branch given: any branch's room


def test_a_missing_teacher_student_or_room_is_refused_naming_the_field(db: Session) -> None:
    b = f.branch(db)
    assert _refused(db, teacher_id=MISSING) == ("teacher_id", f"teacher {MISSING} does not exist")
    assert _refused(db, student_ids=[f.student(db).id, MISSING]) == (
        "student_id",
        f"student {MISSING} does not exist",
    )
    assert _refused(db, room_id=MISSING, branch_id=b.id) == (
        "room_id",
        f"room {MISSING} does not exist at branch {b.id}",
    )


def test_a_room_of_another_branch_is_refused(db: Session) -> None:
    here, there = f.branch(db), f.branch(db)
    room = f.room(db, there)
    assert _refused(db, room_id=room.id, branch_id=here.id) == (
        "room_id",
        f"room {room.id} does not exist at branch {here.id}",
    )


def test_a_deactivated_teacher_student_or_room_is_refused_by_name(db: Session) -> None:
    b = f.branch(db)
    t, s, r = _off(db, f.teacher(db)), _off(db, f.student(db)), _off(db, f.room(db, b))
    assert _refused(db, teacher_id=t.id) == (
        "teacher_id",
        f"teacher {t.id} ({t.name}) is deactivated",
    )
    assert _refused(db, student_ids=[s.id]) == (
        "student_id",
        f"student {s.id} ({s.name}) is deactivated",
    )
    assert _refused(db, room_id=r.id, branch_id=b.id) == (
        "room_id",
        f"room {r.id} ({r.name}) is deactivated",
    )


def _series(db: Session, **over: Any) -> ClassSeries:
    b = over.pop("branch_row", None) or f.branch(db)
    fields: dict[str, Any] = {
        "branch_id": b.id,
        "teacher_id": f.teacher(db).id,
        "student_id": f.student(db).id,
        "kind": SeriesKind.PRIVATE,
        "weekdays": 1,
        "start_time": "10:00",
        "end_time": "11:00",
        "first_date": date(2026, 12, 1),
        **over,
    }
    row = ClassSeries(**fields)
    db.add(row)
    db.flush()
    return row


def _deactivate_refused(db: Session, kind: status.Kind, row_id: int) -> Conflict:
    with pytest.raises(Conflict) as info:
        status.deactivate(db, kind, row_id, actor=ACTOR)
    return info.value


@pytest.mark.parametrize("state", [SeriesStatus.ACTIVE, SeriesStatus.PAUSED])
def test_a_teacher_on_a_series_not_ended_stays_active(db: Session, state: SeriesStatus) -> None:
    s = _series(db, status=state)
    refused = _deactivate_refused(db, "teacher", s.teacher_id)
    name = status.get(db, "teacher", s.teacher_id).name
    assert refused.detail == (
        f"{name} is still on series {s.id}; end them (or change them from a date) first"
    )
    assert refused.code == "people.on-running-series"
    assert refused.extra == {"series_ids": [s.id]}
    assert status.get(db, "teacher", s.teacher_id).active


def test_only_the_first_ten_series_are_listed_but_all_are_given(db: Session) -> None:
    t = f.teacher(db)
    ids = [
        _series(db, teacher_id=t.id, start_time=f"{8 + i}:00", end_time=f"{8 + i}:30").id
        for i in range(11)
    ]
    refused = _deactivate_refused(db, "teacher", t.id)
    assert f"series {', '.join(map(str, ids[:10]))}, ...;" in refused.detail
    assert refused.extra == {"series_ids": ids}
    ten = f.teacher(db)
    listed = [
        _series(db, teacher_id=ten.id, start_time=f"{8 + i}:00", end_time=f"{8 + i}:30").id
        for i in range(10)
    ]
    assert (
        f"series {', '.join(map(str, listed))}; end"
        in _deactivate_refused(db, "teacher", ten.id).detail
    )


def test_a_room_or_a_private_student_on_a_live_series_stays_active(db: Session) -> None:
    b = f.branch(db)
    s = _series(db, branch_row=b, room_id=f.room(db, b).id)
    assert _deactivate_refused(db, "room", s.room_id).extra == {"series_ids": [s.id]}  # type: ignore[arg-type]
    assert _deactivate_refused(db, "student", s.student_id).extra == {"series_ids": [s.id]}  # type: ignore[arg-type]


def test_a_student_enrolled_until_today_or_later_stays_active(db: Session) -> None:
    today = clock.branch_today("Asia/Tokyo")  # the series' branch's today, not the host's
    group = _series(db, kind=SeriesKind.GROUP, student_id=None, title="Club", capacity=4)
    for until in (None, today):
        s = f.student(db)
        db.add(
            SeriesEnrolment(
                series_id=group.id, student_id=s.id, from_date=date(2026, 1, 1), until_date=until
            )
        )
        db.flush()
        assert _deactivate_refused(db, "student", s.id).extra == {"series_ids": [group.id]}
    gone = f.student(db)
    db.add(
        SeriesEnrolment(
            series_id=group.id,
            student_id=gone.id,
            from_date=date(2020, 1, 1),
            until_date=today - timedelta(days=1),
        )
    )
    db.flush()
    assert not status.deactivate(db, "student", gone.id, actor=ACTOR).active


def test_an_ended_series_or_another_persons_does_not_hold_anyone(db: Session) -> None:
    b = f.branch(db)
    ended = _series(db, branch_row=b, room_id=f.room(db, b).id, status=SeriesStatus.ENDED)
    _series(db, branch_row=b, room_id=f.room(db, b).id)  # someone else's, live
    for kind, row_id in (
        ("teacher", ended.teacher_id),
        ("student", ended.student_id),
        ("room", ended.room_id),
    ):
        assert not status.deactivate(db, kind, row_id, actor=ACTOR).active  # type: ignore[arg-type]


def test_deactivation_is_recorded_once_with_the_name(db: Session) -> None:
    b = f.branch(db)
    room = f.room(db, b)
    t = f.teacher(db)
    status.deactivate(db, "room", room.id, actor=ACTOR)
    status.deactivate(db, "teacher", t.id, actor=ACTOR)
    again = status.deactivate(db, "teacher", t.id, actor=ACTOR)
    assert again.active is False
    events = db.scalars(
        select(AuditEvent).where(AuditEvent.action.in_(["room.deactivate", "teacher.deactivate"]))
    ).all()
    seen = sorted(
        (e.action, e.actor, e.subject_type, e.subject_id, e.branch_id, e.details) for e in events
    )
    assert seen == [
        ("room.deactivate", "pytest", "room", room.id, b.id, {"name": room.name}),
        ("teacher.deactivate", "pytest", "teacher", t.id, None, {"name": t.name}),
    ]
