"""The database derives instants by the same rule as the Python time module."""

from __future__ import annotations

from datetime import date, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session

from komawari.scheduling.timerules import local_instant

ZONES = [
    "America/New_York",
    "Europe/London",
    "Asia/Tokyo",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Kolkata",
    "Pacific/Chatham",
]

# Every DST edge of 2026 in New York and London, at minutes around the change.
EDGES = [
    (date(2026, 3, 8), "America/New_York"),
    (date(2026, 11, 1), "America/New_York"),
    (date(2026, 3, 29), "Europe/London"),
    (date(2026, 10, 25), "Europe/London"),
]


def _sql(db: Session, day: date, at: time, zone_name: str) -> object:
    return db.execute(
        text("SELECT komawari_local_instant(:d, :t, :z)"), {"d": day, "t": at, "z": zone_name}
    ).scalar_one()


def test_sql_and_python_agree_at_every_minute_around_the_dst_changes(db: Session) -> None:
    for day, zone_name in EDGES:
        for minutes in range(0, 4 * 60, 15):
            at = time(minutes // 60, minutes % 60)
            assert _sql(db, day, at, zone_name) == local_instant(day, at, zone_name), (day, at)


@settings(
    max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(
    day=st.dates(date(2000, 1, 1), date(2037, 12, 31)),
    minutes=st.integers(0, 24 * 60 - 1),
    zone_name=st.sampled_from(ZONES),
)
def test_sql_and_python_agree_anywhere(
    db: Session, day: date, minutes: int, zone_name: str
) -> None:
    at = time(minutes // 60, minutes % 60)
    assert _sql(db, day, at, zone_name) == local_instant(day, at, zone_name)


def test_session_instants_follow_a_change_of_the_branch_zone(db: Session) -> None:
    from tests import factories as f

    b = f.branch(db, time_zone="Asia/Tokyo")
    s = f.private_session(
        db,
        branch_row=b,
        teacher_row=f.teacher(db),
        student_row=f.student(db),
        day=date(2026, 12, 3),
        start=time(17),
        end=time(18),
    )
    db.refresh(s)
    assert s.starts_at == local_instant(date(2026, 12, 3), time(17), "Asia/Tokyo")
    b.time_zone = "Europe/London"
    db.flush()
    db.refresh(s)
    assert s.time_zone == "Europe/London"
    assert s.start_time == time(17)  # the wall clock stays
    assert s.starts_at == local_instant(date(2026, 12, 3), time(17), "Europe/London")
    assert s.ends_at - s.starts_at == timedelta(hours=1)
