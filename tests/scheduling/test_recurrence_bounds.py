"""Where a pattern starts and stops, zone names, and instants in a DST gap."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from komawari.scheduling import recurrence, timerules, values
from komawari.scheduling.recurrence import Pattern

MON_THU = 0b0001001
P = Pattern(MON_THU, first_date=date(2026, 12, 3), last_date=date(2026, 12, 14))


def test_a_pattern_meets_only_between_its_first_and_last_dates() -> None:
    assert not recurrence.meets_on(P, date(2026, 11, 30))  # a Monday before the first date
    assert recurrence.meets_on(P, date(2026, 12, 3))
    assert recurrence.meets_on(P, date(2026, 12, 14))
    assert not recurrence.meets_on(P, date(2026, 12, 17))  # a Thursday after the last date
    assert not recurrence.meets_on(P, date(2026, 12, 5))  # a Saturday


def test_occurrences_stop_at_the_last_date_or_the_end() -> None:
    got = list(recurrence.occurrences(P, date(2026, 11, 1), date(2027, 1, 31)))
    assert got == [date(2026, 12, 3), date(2026, 12, 7), date(2026, 12, 10), date(2026, 12, 14)]
    assert list(recurrence.occurrences(P, date(2026, 12, 4), date(2026, 12, 7))) == [
        date(2026, 12, 7)
    ]
    endless = Pattern(MON_THU, first_date=date(2026, 12, 3))
    assert list(recurrence.occurrences(endless, date(2026, 12, 4), date(2026, 12, 10))) == [
        date(2026, 12, 7),
        date(2026, 12, 10),
    ]


def test_the_window_ends_at_the_last_date_or_through() -> None:
    today = date(2026, 12, 1)
    one_day = recurrence.window(P, today=date(2026, 12, 14), through=date(2027, 1, 1),
                                generated_through=None)  # fmt: skip
    assert one_day == (date(2026, 12, 14), date(2026, 12, 14))
    assert recurrence.window(P, today=today, through=date(2027, 1, 1), generated_through=None) == (
        date(2026, 12, 3),
        date(2026, 12, 14),
    )
    assert recurrence.window(P, today=today, through=date(2026, 12, 8), generated_through=None) == (
        date(2026, 12, 3),
        date(2026, 12, 8),
    )
    endless = Pattern(MON_THU, first_date=date(2026, 12, 3))
    assert recurrence.window(
        endless, today=today, through=date(2026, 12, 9), generated_through=date(2026, 12, 5)
    ) == (date(2026, 12, 6), date(2026, 12, 9))
    one_day = recurrence.window(P, today=date(2026, 12, 14), through=date(2027, 1, 1),
                                generated_through=None)  # fmt: skip
    assert one_day == (date(2026, 12, 14), date(2026, 12, 14))
    assert recurrence.window(P, today=today, through=date(2027, 1, 1),
                             generated_through=date(2026, 12, 14)) is None  # fmt: skip


def test_host_aliases_and_copies_are_not_zone_names() -> None:
    assert values.check_zone("Asia/Tokyo") == "Asia/Tokyo"
    for bad in ("localtime", "posixrules", "posix/Asia/Tokyo", "right/Asia/Tokyo", "Mars/Base"):
        with pytest.raises(ValueError, match="is not an IANA time zone"):
            values.check_zone(bad)
    assert values.check_zone("Asia/Tokyo", known={"Asia/Tokyo"}) == "Asia/Tokyo"
    with pytest.raises(ValueError, match=r"server's tzdata or choose another zone$"):
        values.check_zone("Asia/Tokyo", known={"UTC"})


def test_a_wall_clock_in_a_gap_reads_with_the_offset_before_and_today_is_local() -> None:
    # New York skips 02:00-03:00 on 14 March 2027: 02:30 reads as EST (UTC-5).
    at = timerules.local_instant(date(2027, 3, 14), time(2, 30), "America/New_York")
    assert at == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)
    assert at.tzinfo is UTC
    late = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # already 2 December in Tokyo
    assert timerules.today_in("Asia/Tokyo", late) == date(2026, 12, 2)
    assert timerules.today_in("UTC", late) == date(2026, 12, 1)


def test_the_first_accepted_year_is_accepted_and_a_blank_name_says_why() -> None:
    first = datetime(values.MIN_YEAR, 1, 1, tzinfo=UTC)
    assert values.check_moment(first) == first
    with pytest.raises(ValueError, match=r"^has no visible character \(only spaces or invisible"):
        values.check_name("\u3000 ")
