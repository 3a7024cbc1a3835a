"""Expanding weekly patterns into dates."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from komawari.scheduling.recurrence import Pattern, meets_on, occurrences, week_anchor, window


def test_weekly_on_monday_and_thursday() -> None:
    p = Pattern(weekdays=0b1001, first_date=date(2026, 11, 30))
    assert list(occurrences(p, date(2026, 11, 30), date(2026, 12, 10))) == [
        date(2026, 11, 30),
        date(2026, 12, 3),
        date(2026, 12, 7),
        date(2026, 12, 10),
    ]


def test_every_second_week_counts_from_the_first_date_s_week() -> None:
    p = Pattern(weekdays=0b100, first_date=date(2026, 12, 2), interval_weeks=2)
    assert list(occurrences(p, date(2026, 11, 1), date(2026, 12, 31))) == [
        date(2026, 12, 2),
        date(2026, 12, 16),
        date(2026, 12, 30),
    ]


def test_the_window_never_backfills_and_starts_after_the_watermark() -> None:
    p = Pattern(weekdays=0b1, first_date=date(2026, 1, 1), last_date=date(2027, 1, 1))
    assert window(
        p, today=date(2026, 11, 30), through=date(2026, 12, 31), generated_through=None
    ) == (date(2026, 11, 30), date(2026, 12, 31))
    assert window(
        p,
        today=date(2026, 11, 30),
        through=date(2026, 12, 31),
        generated_through=date(2026, 12, 10),
    ) == (date(2026, 12, 11), date(2026, 12, 31))
    assert (
        window(
            p,
            today=date(2026, 11, 30),
            through=date(2026, 12, 31),
            generated_through=date(2026, 12, 31),
        )
        is None
    )


@given(
    st.integers(1, 127),
    st.dates(date(2020, 1, 1), date(2030, 1, 1)),
    st.integers(1, 4),
    st.integers(0, 120),
)
def test_occurrences_are_exactly_the_days_the_series_meets(
    mask: int, first: date, every: int, span: int
) -> None:
    p = Pattern(weekdays=mask, first_date=first, interval_weeks=every)
    days = list(occurrences(p, first, first + timedelta(days=span)))
    expected = [
        first + timedelta(days=i) for i in range(span + 1) if meets_on(p, first + timedelta(days=i))
    ]
    assert days == expected
    for d in days:
        assert mask & (1 << d.weekday())
        assert ((d - week_anchor(first)).days // 7) % every == 0
