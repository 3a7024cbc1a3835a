"""Every guard of the schema, broken twice (raw SQL and the ORM), answers with its name."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from komawari.db.registry import BranchClosure, ClassSeries, ClassSession, Room, SeriesEnrolment
from komawari.series.enums import SeriesKind, SeriesStatus
from komawari.sessions.enums import SessionStatus
from tests import factories as f


@contextmanager
def violates(db: Session, constraint: str) -> Iterator[None]:
    """Expect the block to be refused by the database guard called `constraint`."""
    savepoint = db.begin_nested()
    with pytest.raises(IntegrityError) as info:  # noqa: PT012 - the block is the caller's
        yield
        db.flush()
    savepoint.rollback()
    assert info.value.orig is not None
    assert info.value.orig.diag.constraint_name == constraint  # type: ignore[attr-defined]


def _raw(db: Session, sql: str, **params: object) -> Callable[[], None]:
    return lambda: db.execute(text(sql), params) and None


SESSION_SQL = (
    "INSERT INTO class_sessions (branch_id, time_zone, kind, date, start_time, end_time,"
    " teacher_id, student_id, series_id, original_date, status, cancel_reason)"
    " VALUES (:b, 'Asia/Tokyo', 'PRIVATE', :d, :s, :e, :t, :st, :series, :od,"
    " :status, :reason)"
)


@pytest.fixture
def school(db: Session) -> dict[str, int]:
    b = f.branch(db)
    return {"b": b.id, "t": f.teacher(db).id, "st": f.student(db).id}


def _session_params(school: dict[str, int], **over: object) -> dict[str, object]:
    params: dict[str, object] = {
        **school,
        "d": date(2026, 12, 3),
        "s": time(20),
        "e": time(21, 30),
        "series": None,
        "od": None,
        "status": "CONFIRMED",
        "reason": None,
    }
    params.update(over)
    return params


def _orm_session(school: dict[str, int], **over: object) -> ClassSession:
    values: dict[str, object] = {
        "branch_id": school["b"],
        "time_zone": "Asia/Tokyo",
        "kind": SeriesKind.PRIVATE,
        "date": date(2026, 12, 3),
        "start_time": time(20),
        "end_time": time(21, 30),
        "teacher_id": school["t"],
        "student_id": school["st"],
    }
    values.update(over)
    return ClassSession(**values)


def test_exact_duplicate_private_lesson_is_refused_raw_and_orm(
    db: Session, school: dict[str, int]
) -> None:
    db.execute(text(SESSION_SQL), _session_params(school))
    with violates(db, "ux_class_sessions_unique_1on1"):
        db.execute(text(SESSION_SQL), _session_params(school))
    with violates(db, "ux_class_sessions_unique_1on1"):
        db.add(_orm_session(school))


def test_a_cancelled_copy_does_not_block_a_live_lesson(db: Session, school: dict[str, int]) -> None:
    db.execute(text(SESSION_SQL), _session_params(school, status="CANCELLED", reason="ill"))
    db.execute(text(SESSION_SQL), _session_params(school))
    assert db.execute(text("SELECT count(*) FROM class_sessions")).scalar_one() == 2


def test_an_occurrence_is_materialised_once_whatever_its_status(
    db: Session, school: dict[str, int]
) -> None:
    series = f.private_series(db)
    first = _session_params(
        school, series=series.id, od=date(2026, 12, 3), status="CANCELLED", reason="moved away"
    )
    db.execute(text(SESSION_SQL), first)
    # Another time, still the same occurrence: refused even though the first is cancelled.
    with violates(db, "uq_class_sessions_occurrence"):
        db.execute(
            text(SESSION_SQL),
            _session_params(school, series=series.id, od=date(2026, 12, 3), s=time(10), e=time(11)),
        )
    with violates(db, "uq_class_sessions_occurrence"):
        db.add(
            _orm_session(
                school,
                series_id=series.id,
                original_date=date(2026, 12, 3),
                start_time=time(9),
                end_time=time(10),
            )
        )


SERIES_SQL = (
    "INSERT INTO class_series (branch_id, teacher_id, kind, student_id, title, capacity,"
    " weekdays, start_time, end_time, first_date, last_date, interval_weeks, status)"
    " VALUES (:b, :t, :kind, :st, :title, :cap, :wd, :s, :e, :fd, :ld, :iw, :status)"
)


def _series_params(school: dict[str, int], **over: object) -> dict[str, object]:
    params: dict[str, object] = {
        **school,
        "kind": "PRIVATE",
        "title": None,
        "cap": None,
        "wd": 0b101,
        "s": time(20),
        "e": time(21, 30),
        "fd": date(2026, 12, 1),
        "ld": None,
        "iw": 1,
        "status": "ACTIVE",
    }
    params.update(over)
    return params


def _orm_series(school: dict[str, int], **over: object) -> ClassSeries:
    values: dict[str, object] = {
        "branch_id": school["b"],
        "teacher_id": school["t"],
        "kind": SeriesKind.PRIVATE,
        "student_id": school["st"],
        "weekdays": 0b101,
        "start_time": time(20),
        "end_time": time(21, 30),
        "first_date": date(2026, 12, 1),
    }
    values.update(over)
    return ClassSeries(**values)


def test_duplicate_active_private_series_is_refused_raw_and_orm(
    db: Session, school: dict[str, int]
) -> None:
    db.execute(text(SERIES_SQL), _series_params(school))
    with violates(db, "ux_class_series_active_private"):
        db.execute(text(SERIES_SQL), _series_params(school, fd=date(2027, 1, 1)))
    with violates(db, "ux_class_series_active_private"):
        db.add(_orm_series(school))
    # A PAUSED twin is allowed: the guard is about ACTIVE series only.
    db.execute(text(SERIES_SQL), _series_params(school, status="PAUSED"))


def test_duplicate_active_group_series_is_refused_raw_and_orm(
    db: Session, school: dict[str, int]
) -> None:
    group = {"kind": "GROUP", "st": None, "title": "English B1", "cap": 6}
    db.execute(text(SERIES_SQL), _series_params(school, **group))
    with violates(db, "ux_class_series_active_group"):
        db.execute(text(SERIES_SQL), _series_params(school, **group))
    with violates(db, "ux_class_series_active_group"):
        db.add(
            _orm_series(
                school, kind=SeriesKind.GROUP, student_id=None, title="English B1", capacity=6
            )
        )


CHECKS = [
    (
        "ck_class_series_end_after_start",
        {"s": time(21), "e": time(20)},
        {"start_time": time(21), "end_time": time(20)},
    ),
    (
        "ck_class_series_end_after_start",
        {"s": time(20), "e": time(20)},
        {"start_time": time(20), "end_time": time(20)},
    ),
    ("ck_class_series_weekdays_valid", {"wd": 0}, {"weekdays": 0}),
    ("ck_class_series_weekdays_valid", {"wd": 128}, {"weekdays": 128}),
    ("ck_class_series_interval_weeks_positive", {"iw": 0}, {"interval_weeks": 0}),
    (
        "ck_class_series_last_not_before_first",
        {"ld": date(2026, 11, 30)},
        {"last_date": date(2026, 11, 30)},
    ),
    (
        "ck_class_series_capacity_positive",
        {"kind": "GROUP", "st": None, "title": "G", "cap": 0},
        {"kind": SeriesKind.GROUP, "student_id": None, "title": "G", "capacity": 0},
    ),
    ("ck_class_series_kind_shape", {"st": None}, {"student_id": None}),
]


@pytest.mark.parametrize(("constraint", "raw", "orm"), CHECKS)
def test_series_checks_refuse_bad_rows(
    db: Session,
    school: dict[str, int],
    constraint: str,
    raw: dict[str, object],
    orm: dict[str, object],
) -> None:
    with violates(db, constraint):
        db.execute(text(SERIES_SQL), _series_params(school, **raw))
    with violates(db, constraint):
        db.add(_orm_series(school, **orm))


SESSION_CHECKS = [
    (
        "ck_class_sessions_end_after_start",
        {"s": time(21), "e": time(20)},
        {"start_time": time(21), "end_time": time(20)},
    ),
    ("ck_class_sessions_private_has_student", {"st": None}, {"student_id": None}),
    (
        "ck_class_sessions_cancel_has_reason",
        {"status": "CANCELLED"},
        {"status": SessionStatus.CANCELLED},
    ),
    (
        "ck_class_sessions_original_needs_series",
        {"od": date(2026, 12, 3)},
        {"original_date": date(2026, 12, 3)},
    ),
]


@pytest.mark.parametrize(("constraint", "raw", "orm"), SESSION_CHECKS)
def test_session_checks_refuse_bad_rows(
    db: Session,
    school: dict[str, int],
    constraint: str,
    raw: dict[str, object],
    orm: dict[str, object],
) -> None:
    with violates(db, constraint):
        db.execute(text(SESSION_SQL), _session_params(school, **raw))
    with violates(db, constraint):
        db.add(_orm_session(school, **orm))


def test_a_series_session_without_its_original_date_is_refused(
    db: Session, school: dict[str, int]
) -> None:
    series = f.private_series(db)
    with violates(db, "ck_class_sessions_series_has_original_date"):
        db.execute(text(SESSION_SQL), _session_params(school, series=series.id))
    with violates(db, "ck_class_sessions_series_has_original_date"):
        db.add(_orm_session(school, series_id=series.id))


def test_room_capacity_must_be_positive(db: Session, school: dict[str, int]) -> None:
    with violates(db, "ck_rooms_capacity_positive"):
        db.execute(
            text("INSERT INTO rooms (branch_id, name, capacity) VALUES (:b, 'R', 0)"),
            {"b": school["b"]},
        )
    with violates(db, "ck_rooms_capacity_positive"):
        db.add(Room(branch_id=school["b"], name="R", capacity=-1))


def test_foreign_keys_refuse_unknown_people(db: Session, school: dict[str, int]) -> None:
    with violates(db, "fk_class_sessions_teacher_id_teachers"):
        db.execute(text(SESSION_SQL), _session_params(school, t=999_999))
    with violates(db, "fk_class_series_student_id_students"):
        db.add(_orm_series(school, student_id=999_999))


def test_session_zone_must_be_its_branch_zone(db: Session, school: dict[str, int]) -> None:
    with violates(db, "fk_class_sessions_branch_zone"):
        db.add(_orm_session(school, time_zone="Europe/London"))


def test_a_student_is_enrolled_in_a_series_once_on_any_day(
    db: Session, school: dict[str, int]
) -> None:
    group = _orm_series(school, kind=SeriesKind.GROUP, student_id=None, title="G", capacity=4)
    db.add(group)
    db.flush()
    db.add(
        SeriesEnrolment(
            series_id=group.id,
            student_id=school["st"],
            from_date=date(2026, 12, 1),
            until_date=date(2027, 3, 31),
        )
    )
    db.flush()
    with violates(db, "ex_series_enrolments_no_overlap"):
        db.execute(
            text(
                "INSERT INTO series_enrolments (series_id, student_id, from_date)"
                " VALUES (:s, :st, '2027-03-31')"
            ),
            {"s": group.id, "st": school["st"]},
        )
    with violates(db, "ex_series_enrolments_no_overlap"):
        db.add(
            SeriesEnrolment(series_id=group.id, student_id=school["st"], from_date=date(2027, 1, 1))
        )
    # The day after the enrolment ends is free.
    db.add(SeriesEnrolment(series_id=group.id, student_id=school["st"], from_date=date(2027, 4, 1)))
    db.flush()


def test_a_closure_day_is_recorded_once_per_branch(db: Session, school: dict[str, int]) -> None:
    db.add(BranchClosure(branch_id=school["b"], date=date(2027, 1, 1)))
    db.flush()
    with violates(db, "uq_branch_closures_branch_id_date"):
        db.add(BranchClosure(branch_id=school["b"], date=date(2027, 1, 1)))


def test_paused_and_ended_series_never_break_the_active_guard(
    db: Session, school: dict[str, int]
) -> None:
    for status in (SeriesStatus.PAUSED, SeriesStatus.ENDED, SeriesStatus.ACTIVE):
        db.add(_orm_series(school, status=status))
        db.flush()
    assert db.execute(text("SELECT count(*) FROM class_series")).scalar_one() == 3
