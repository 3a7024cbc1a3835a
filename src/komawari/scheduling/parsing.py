"""Parsing user input into the plain values the rules use; errors name what is wrong."""

from __future__ import annotations

import calendar
import re
from datetime import date, time

from komawari.scheduling.values import check_day, printable
from komawari.words import InvalidValue, say

_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def parse_time(value: str) -> time:
    """Parse HH:MM (or HH:MM:SS) into a time; raise ValueError naming the problem."""
    match = _TIME.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise InvalidValue(
            say(
                "time.not-a-time",
                "'%(value)s' is not a time of day as HH:MM",
                value=printable(str(value)),
            )
        )
    return time(int(match[1]), int(match[2]), int(match[3] or 0))


def parse_date(value: str) -> date:
    """Parse an ISO date (YYYY-MM-DD) within the accepted years; raise ValueError if not."""
    try:
        day = date.fromisoformat(value.strip())
    except (ValueError, AttributeError) as exc:
        raise ValueError(_why_not_a_date(value)) from exc
    return check_day(day)


def _why_not_a_date(value: object) -> str:
    """Say why `value` is not a date (the month or the day, when it is shaped like one)."""
    match = _DATE.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        return f"{value!r} is not a date as YYYY-MM-DD"
    year, month, day = (int(g) for g in match.groups())
    if not 1 <= month <= 12:
        return f"{match[0]}: there is no month {month}"
    days = calendar.monthrange(max(year, 1), month)[1]
    return f"{match[0]}: {calendar.month_name[month]} {year} has {days} days (not {day})"
