"""The rules as SQL fragments: each written once here, imported by every statement that
applies it (generation, booking and re-evaluation, the doctor, dedupe, the import).

Promise 5, conflicts: two lessons overlap when each starts before the other ends (a lesson
ending as another starts does not clash), and a cancelled lesson never clashes. Every
lesson that overlaps `a` starts less than the lesson span before `a` does: `near` is the
index range that finds them.

Promises 1 to 3, duplicates, derived from komawari.scheduling.keys (the key columns) and
the guards of the models (the rows each guards): a lesson is the same lesson when (date,
start, end, teacher, student) match (private, non-cancelled); a series is the same
blueprint when (branch, teacher, kind, student or title, start, end, weekdays as a
bitmask) match (ACTIVE). In every group the earliest created row is kept, ties broken by
id. The guards' names are komawari.db.guards' handles.
"""

from __future__ import annotations

from komawari.db import guards
from komawari.scheduling import keys
from komawari.scheduling.keys import LESSON_SPAN_SQL


def overlap(a: str, b: str) -> str:
    """SQL: the lessons aliased `a` and `b` overlap in time (touching is not overlapping)."""
    return f"{a}.starts_at < {b}.ends_at AND {b}.starts_at < {a}.ends_at"


def near(a: str, b: str) -> str:
    """SQL: `b` starts within the lesson span before `a` starts, and before `a` ends: every
    lesson overlapping `a` is near it (an index range on (resource, starts_at))."""
    return f"{b}.starts_at > {a}.starts_at - {LESSON_SPAN_SQL} AND {b}.starts_at < {a}.ends_at"


def live(alias: str) -> str:
    """SQL: the lesson aliased `alias` is live (not cancelled), so it can clash."""
    return f"{alias}.status <> 'CANCELLED'"


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
