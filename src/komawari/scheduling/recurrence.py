"""Expanding a weekly pattern into the dates on which a series meets."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True, slots=True)
class Pattern:
    """A weekly pattern: weekdays (bitmask), first date, optional last date, every N weeks."""

    weekdays: int
    first_date: date
    last_date: date | None = None
    interval_weeks: int = 1


def week_anchor(first_date: date) -> date:
    """Return the Monday of the week of `first_date`: week 0 of every N weeks."""
    return first_date - timedelta(days=first_date.weekday())


def meets_on(pattern: Pattern, day: date) -> bool:
    """Tell whether the series meets on `day` (closures aside)."""
    if day < pattern.first_date or (pattern.last_date is not None and day > pattern.last_date):
        return False
    if not pattern.weekdays & (1 << day.weekday()):
        return False
    weeks = (day - week_anchor(pattern.first_date)).days // 7
    return weeks % pattern.interval_weeks == 0


def occurrences(pattern: Pattern, start: date, end: date) -> Iterator[date]:
    """Yield the dates from `start` through `end` on which the series meets."""
    day = max(start, pattern.first_date)
    stop = end if pattern.last_date is None else min(end, pattern.last_date)
    while day <= stop:
        if meets_on(pattern, day):
            yield day
        day += timedelta(days=1)


def window(
    pattern: Pattern, *, today: date, through: date, generated_through: date | None
) -> tuple[date, date] | None:
    """Return the dates a generation run still has to cover, or None when there are none.

    From max(first date, today, the day after the watermark) through min(last date,
    through): a run never backfills the past and never redoes what is materialised.
    """
    start = max(pattern.first_date, today)
    if generated_through is not None:
        start = max(start, generated_through + timedelta(days=1))
    stop = through if pattern.last_date is None else min(through, pattern.last_date)
    return (start, stop) if start <= stop else None
