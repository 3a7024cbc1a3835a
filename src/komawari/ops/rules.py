"""The duplicate rules as SQL fragments, shared by the doctor, dedupe, guards and the import.

They mirror komawari.scheduling.keys: a lesson is the same lesson when (date, start, end,
teacher, student) match (private, non-cancelled); a series is the same blueprint when
(branch, teacher, kind, student or title, start, end, weekdays as a bitmask) match (ACTIVE).
In every group the earliest created row is kept, ties broken by id.
"""

from __future__ import annotations

# Promise 1: the key of ux_class_sessions_unique_1on1 (rows: live private sessions).
LESSON_KEY = "date, start_time, end_time, teacher_id, student_id"
LIVE_PRIVATE = "status <> 'CANCELLED' AND kind = 'PRIVATE'"

# Promise 2: the key of uq_class_sessions_occurrence.
OCCURRENCE_KEY = "series_id, original_date"
HAS_OCCURRENCE = "series_id IS NOT NULL AND original_date IS NOT NULL"
# The non-cancelled row holds the identity, else the earliest.
OCCURRENCE_ORDER = "(status = 'CANCELLED'), created_at, id"


def series_key(alias: str = "") -> str:
    """Return the key of ux_class_series_active_private / _group as one partition (promise 3)."""
    a = f"{alias}." if alias else ""
    return (
        f"{a}branch_id, {a}teacher_id, {a}kind,"
        f" CASE WHEN {a}kind = 'PRIVATE' THEN {a}student_id END,"
        f" CASE WHEN {a}kind = 'GROUP' THEN {a}title END,"
        f" {a}start_time, {a}end_time, {a}weekdays"
    )


SERIES_KEY = series_key()

KEEP_ORDER = "created_at, id"

DUPLICATE_REASON = "duplicate"


def today_sql(zone_column: str) -> str:
    """Return SQL of the current date in a branch's zone, from the :now parameter."""
    return f"(CAST(:now AS timestamptz) AT TIME ZONE {zone_column})::date"
