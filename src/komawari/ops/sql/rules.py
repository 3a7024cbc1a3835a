"""The duplicate rules as SQL fragments, shared by the doctor, dedupe, guards and the import.

Derived from komawari.scheduling.keys (the key columns) and the guards of the models (the
rows each guards): a lesson is the same lesson when (date, start, end, teacher, student)
match (private, non-cancelled); a series is the same blueprint when (branch, teacher, kind,
student or title, start, end, weekdays as a bitmask) match (ACTIVE). In every group the
earliest created row is kept, ties broken by id.
"""

from __future__ import annotations

from komawari.db import guards
from komawari.scheduling import keys

# Promise 1: the key of the guard UNIQUE_1ON1 and the rows it guards.
LESSON_KEY = keys.columns(keys.LESSON_KEY)
LIVE_PRIVATE = guards.LIVE_PRIVATE

# Promise 2: the key of the guard OCCURRENCE_GUARD (a row with a NULL in it is unguarded).
OCCURRENCE_KEY = keys.columns(keys.OCCURRENCE_KEY)
HAS_OCCURRENCE = " AND ".join(f"{c} IS NOT NULL" for c in keys.OCCURRENCE_KEY)
# The non-cancelled row holds the identity, else the earliest.
OCCURRENCE_ORDER = "(status = 'CANCELLED'), created_at, id"

# Promise 3: both series guards cover ACTIVE rows only, one kind each.
ACTIVE_SERIES = "status = 'ACTIVE'"


def series_key(alias: str = "") -> str:
    """Return the key of the two ACTIVE-series guards as one partition (promise 3)."""
    a = f"{alias}." if alias else ""
    party = [f"{a}kind"] + [
        f"CASE WHEN {a}kind = '{kind}' THEN {a}{column} END"
        for kind, column in keys.SERIES_PARTY.items()
    ]
    return ", ".join(", ".join(party) if f == "party" else a + f for f in keys.SeriesKey._fields)


SERIES_KEY = series_key()

KEEP_ORDER = "created_at, id"

DUPLICATE_REASON = "duplicate"


def today_sql(zone_column: str) -> str:
    """Return SQL of the current date in a branch's zone, from the :now parameter."""
    return f"(CAST(:now AS timestamptz) AT TIME ZONE {zone_column})::date"
