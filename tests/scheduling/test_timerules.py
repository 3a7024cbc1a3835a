"""The time rules of docs/architecture.md, at New York and London branches across both DSTs."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from komawari.scheduling.timerules import UnknownZoneError, local_instant, today_in, zone

NY, LONDON = "America/New_York", "Europe/London"


def test_a_repeated_time_on_the_fall_back_day_is_the_first_one() -> None:
    # 2026-11-01 01:30 happens twice in New York (EDT, then EST): the first is meant.
    assert local_instant(date(2026, 11, 1), time(1, 30), NY) == datetime(
        2026, 11, 1, 5, 30, tzinfo=UTC
    )
    # London falls back on 2026-10-25 at 02:00 BST -> 01:00 GMT.
    assert local_instant(date(2026, 10, 25), time(1, 30), LONDON) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )


def test_a_time_in_the_spring_forward_gap_uses_the_offset_before_the_gap() -> None:
    # 2026-03-08 02:30 does not exist in New York: read with EST, i.e. 03:30 EDT.
    instant = local_instant(date(2026, 3, 8), time(2, 30), NY)
    assert instant == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert instant.astimezone(zone(NY)).time() == time(3, 30)
    # London: 2026-03-29 01:30 does not exist; GMT before the gap gives 02:30 BST.
    assert local_instant(date(2026, 3, 29), time(1, 30), LONDON).astimezone(
        zone(LONDON)
    ).time() == time(2, 30)


@pytest.mark.parametrize(
    ("zone_name", "before", "after"),
    [
        (NY, date(2026, 3, 7), date(2026, 3, 9)),
        (NY, date(2026, 10, 31), date(2026, 11, 2)),
        (LONDON, date(2026, 3, 28), date(2026, 3, 30)),
        (LONDON, date(2026, 10, 24), date(2026, 10, 26)),
    ],
)
def test_a_17_00_lesson_stays_17_00_local_on_both_sides(
    zone_name: str, before: date, after: date
) -> None:
    for day in (before, after):
        assert local_instant(day, time(17), zone_name).astimezone(zone(zone_name)).time() == time(
            17
        )
    # ...while its instant moves by the change of offset.
    a = local_instant(before, time(17), zone_name).astimezone(UTC).time()
    b = local_instant(after, time(17), zone_name).astimezone(UTC).time()
    assert a != b


def test_today_is_the_branch_s_today() -> None:
    moment = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)  # 01:00 on the 27th in Tokyo
    assert today_in("Asia/Tokyo", moment) == date(2026, 11, 27)
    assert today_in(NY, moment) == date(2026, 11, 26)


@pytest.mark.parametrize("bad", ["Mars/Olympus", "", " Asia/Tokyo", "../etc/passwd", "Asia/"])
def test_unknown_zones_are_refused(bad: str) -> None:
    with pytest.raises(UnknownZoneError):
        zone(bad)
