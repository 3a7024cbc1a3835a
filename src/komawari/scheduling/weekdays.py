"""Weekdays as one normalised key: a bitmask, bit 0 = Monday .. bit 6 = Sunday."""

from __future__ import annotations

from collections.abc import Iterable

NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_LONG = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ALL_DAYS = 0b1111111


class WeekdayError(ValueError):
    """A weekday that is not Monday..Sunday, or an empty set."""


def parse_weekday(value: int | str) -> int:
    """Return the ISO number (1 = Monday .. 7 = Sunday) of a number or a name."""
    if isinstance(value, bool):
        raise WeekdayError(f"{value!r} is not a weekday")
    if isinstance(value, int):
        if 1 <= value <= 7:
            return value
        raise WeekdayError(f"{value} is not an ISO weekday (1 = Monday .. 7 = Sunday)")
    word = value.strip().lower()
    if word.isdigit():
        return parse_weekday(int(word))
    if word in NAMES:
        return NAMES.index(word) + 1
    if word in _LONG:
        return _LONG.index(word) + 1
    raise WeekdayError(f"{value!r} is not a weekday (use 1-7 or mon..sun)")


def to_mask(days: Iterable[int | str]) -> int:
    """Return the normalised key of a collection of weekdays, in any order, with repeats."""
    mask = 0
    for day in days:
        mask |= 1 << (parse_weekday(day) - 1)
    if mask == 0:
        raise WeekdayError("at least one weekday is required")
    return mask


def from_mask(mask: int) -> list[int]:
    """Return the sorted ISO weekday numbers of a mask."""
    if not 1 <= mask <= ALL_DAYS:
        raise WeekdayError(f"{mask} is not a weekday mask (1..127)")
    return [day for day in range(1, 8) if mask & (1 << (day - 1))]


def mask_names(mask: int) -> str:
    """Return a mask as names, e.g. 'mon,wed'."""
    return ",".join(NAMES[day - 1] for day in from_mask(mask))
