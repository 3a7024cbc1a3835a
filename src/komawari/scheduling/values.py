"""The values Komawari accepts: dates within bounds, human text, time-zone names.

Pure rules over plain values, one authority for every path (API, CLI, import, move):
each check returns the value or raises ValueError (an `InvalidValue`: its `Say` names
what is wrong, in words a page translates).
"""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from collections.abc import Collection
from datetime import date, datetime
from functools import lru_cache

from komawari.words import InvalidValue, Say, say

MIN_YEAR, MAX_YEAR = 1900, 2200
FIRST_DAY, LAST_DAY = date(MIN_YEAR, 1, 1), date(MAX_YEAR, 12, 31)

# C0, DEL and C1: they move terminal cursors, set window titles and break calendar files.
# Bidi controls (U+061C, U+200E-F, U+202A-E, U+2066-9) reorder the text shown after them
# ("Trojan source"), and U+2028/U+2029 break a line where no newline was typed.
_CONTROL = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
# Letters by category that still render as nothing (Hangul fillers, the braille blank).
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Names a zone database may hold that are not zones: host-dependent copies and aliases.
_NOT_ZONE_PREFIXES = ("posix/", "right/")
_NOT_ZONES = frozenset({"localtime", "posixrules"})


def check_day(value: date) -> date:
    """Return `value` if its year is within MIN_YEAR..MAX_YEAR, else raise ValueError."""
    if not FIRST_DAY <= value <= LAST_DAY:
        raise InvalidValue(_out_of_bounds(value))
    return value


def check_moment(value: datetime) -> datetime:
    """Return `value` if its year is within MIN_YEAR..MAX_YEAR, else raise ValueError."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise InvalidValue(_out_of_bounds(value))
    return value


def _out_of_bounds(value: date) -> Say:
    return say(
        "date.out-of-bounds",
        "%(day)s is outside the years %(first)s to %(last)s",
        day=value,
        first=MIN_YEAR,
        last=MAX_YEAR,
    )


def clamp_year(year: int) -> int:
    """Return `year` within MIN_YEAR..MAX_YEAR (for rows stored before the bounds held)."""
    return min(max(year, MIN_YEAR), MAX_YEAR)


def check_text(value: str) -> str:
    """Return `value` if it holds no control character (C0, DEL, C1), else raise ValueError."""
    found = _CONTROL.search(value)
    if found is not None:
        code = format(ord(found[0]), "04X")
        raise InvalidValue(
            say(
                "text.control-character",
                "contains the control character U+%(code)s at position %(position)s",
                code=code,
                position=found.start(),
            )
        )
    return value


def _visible(char: str) -> bool:
    return unicodedata.category(char)[0] in "LNPS" and char not in _BLANK_LETTERS


def check_name(value: str) -> str:
    """Return `value` if it has no control character and at least one visible character."""
    check_text(value)
    if not any(_visible(c) for c in value):
        raise InvalidValue(
            say(
                "text.nothing-visible",
                "has no visible character (only spaces or invisible characters)",
            )
        )
    return value


def printable(value: str) -> str:
    """Return `value` with each control character written as an escape such as \\x1b."""
    return _CONTROL.sub(
        lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", value
    )


def _is_zone_name(name: str) -> bool:
    """Return whether `name` can be a branch's zone: no host alias or posix/right copy."""
    return name not in _NOT_ZONES and not name.startswith(_NOT_ZONE_PREFIXES)


@lru_cache(maxsize=1)
def python_zones() -> frozenset[str]:
    """Return the zone names Python's tz database knows that can be a branch's zone."""
    return frozenset(n for n in zoneinfo.available_timezones() if _is_zone_name(n))


def check_zone(name: str, known: Collection[str] | None = None) -> str:
    """Return `name` if it is an IANA zone that `known` (default: Python's) holds."""
    if name not in python_zones():
        raise InvalidValue(
            say(
                "zone.unknown",
                "'%(zone)s' is not an IANA time zone (such as Asia/Tokyo)",
                zone=printable(name),
            )
        )
    if known is not None and name not in known:
        raise InvalidValue(
            say(
                "zone.not-on-server",
                "'%(zone)s' is not in the database server's time-zone data; "
                "update the server's tzdata or choose another zone",
                zone=printable(name),
            )
        )
    return name
