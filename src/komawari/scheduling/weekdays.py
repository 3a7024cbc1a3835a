"""Weekdays as one normalised key: a bitmask, bit 0 = Monday .. bit 6 = Sunday."""

from __future__ import annotations

from collections.abc import Iterable

from komawari.scheduling.values import printable
from komawari.words import InvalidValue, say

NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_LONG = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ALL_DAYS = 0b1111111


class WeekdayError(InvalidValue):
    """A weekday that is not Monday..Sunday, or an empty set (a ValueError with a `Say`)."""


def parse_weekday(value: int | str) -> int:
    """Return the ISO number (1 = Monday .. 7 = Sunday) of a number or a name."""
    if isinstance(value, bool):
        raise _not_a_weekday(str(value))
    if isinstance(value, int):
        if 1 <= value <= 7:
            return value
        raise WeekdayError(
            say(
                "weekday.not-iso",
                "%(value)s is not an ISO weekday (1 = Monday .. 7 = Sunday)",
                value=value,
            )
        )
    word = value.strip().lower()
    if word.isdigit():
        return parse_weekday(int(word))
    if word in NAMES:
        return NAMES.index(word) + 1
    if word in _LONG:
        return _LONG.index(word) + 1
    raise _not_a_weekday(value)


def _not_a_weekday(value: str) -> WeekdayError:
    return WeekdayError(
        say(
            "weekday.unknown",
            "'%(value)s' is not a weekday (use 1-7 or mon..sun)",
            value=printable(value),
        )
    )


def to_mask(days: Iterable[int | str]) -> int:
    """Return the normalised key of a collection of weekdays, in any order, with repeats."""
    mask = 0
    for day in days:
        mask |= 1 << (parse_weekday(day) - 1)
    if mask == 0:
        raise WeekdayError(say("weekday.none", "at least one weekday is required"))
    return mask


def from_mask(mask: int) -> list[int]:
    """Return the sorted ISO weekday numbers of a mask."""
    if not 1 <= mask <= ALL_DAYS:
        raise WeekdayError(
            say("weekday.bad-mask", "%(mask)s is not a weekday mask (1..127)", mask=mask)
        )
    return [day for day in range(1, 8) if mask & (1 << (day - 1))]


def mask_names(mask: int) -> str:
    """Return a mask as names, e.g. 'mon,wed'."""
    return ",".join(NAMES[day - 1] for day in from_mask(mask))
