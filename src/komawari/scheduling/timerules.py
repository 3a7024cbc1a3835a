"""The time rules (docs/architecture.md, "Time"): wall-clock values in a branch's zone,
instants derived here.

A local time in a spring-forward gap is read with the offset before the gap (RFC 5545
3.3.5: 02:30 becomes 03:30); a repeated one in a fall-back means the first (PEP 495
fold=0). The database's komawari_local_instant() applies the same rule and the tests
check both agree.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time
from functools import lru_cache

from komawari.scheduling.values import printable
from komawari.words import InvalidValue, say


class UnknownZoneError(InvalidValue):
    """A time-zone name that is not an IANA zone."""

    def __init__(self, name: str) -> None:
        super().__init__(
            say(
                "zone.unknown",
                "'%(zone)s' is not an IANA time zone (such as Asia/Tokyo)",
                zone=printable(name),
            )
        )


@lru_cache(maxsize=512)
def zone(name: str) -> zoneinfo.ZoneInfo:
    """Return the IANA zone called `name`, or raise UnknownZoneError."""
    if not name or name != name.strip() or name.startswith("/") or ".." in name:
        raise UnknownZoneError(name)
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownZoneError(name) from exc


def local_instant(day: date, at: time, zone_name: str) -> datetime:
    """Return the UTC instant of wall-clock `day` `at` in `zone_name`."""
    tz = zone(zone_name)
    naive = datetime.combine(day, at)
    # fold=0 is the first of a repeated time; in a gap, zoneinfo's fold=0 uses the
    # offset before the gap, which is RFC 5545's reading.
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def now() -> datetime:
    """Return the current instant: the one clock the rules read (tests move it, time-machine)."""
    return datetime.now(UTC)


def today_in(zone_name: str, at: datetime | None = None) -> date:
    """Return the date in `zone_name` at instant `at` (default: now): "today at a branch"."""
    return (at or now()).astimezone(zone(zone_name)).date()
