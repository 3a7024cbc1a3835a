"""Duplicate keys: what makes two lessons or two series the same.

The one place that names the key columns: the models' unique indexes, the doctor's and
dedupe's queries, the import and generation all take their column lists from here.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import NamedTuple

# A lesson ends after it starts, on its own date: it lasts under 24 wall-clock hours and
# under 26 real ones (a fall-back adds an hour or so). So every lesson that overlaps a
# lesson `a` starts less than LESSON_SPAN before `a` does: conflict lookups probe an index
# on (resource, starts_at) over that window. The one place this bound is written.
LESSON_SPAN = timedelta(hours=26)
LESSON_SPAN_SECONDS = int(LESSON_SPAN.total_seconds())
LESSON_SPAN_SQL = f"interval '{LESSON_SPAN_SECONDS // 3600} hours'"
# The local dates of two lessons that overlap (of branches in any two zones, at most 26
# hours apart) differ by at most this many days: who clashes with a day is looked for
# this far around it.
CLASH_DAYS = 2


class LessonKey(NamedTuple):
    """Promise 1: one non-cancelled private session per (date, start, end, teacher, student)."""

    date: date
    start_time: time
    end_time: time
    teacher_id: int
    student_id: int


class OccurrenceKey(NamedTuple):
    """Promise 2: one session per (series, original date), whatever its status."""

    series_id: int
    original_date: date


class SeriesKey(NamedTuple):
    """Promise 3: one ACTIVE series per (branch, teacher, student or group, start, end, days)."""

    branch_id: int
    teacher_id: int
    party: int | str
    start_time: time
    end_time: time
    weekdays: int


LESSON_KEY: tuple[str, ...] = LessonKey._fields
OCCURRENCE_KEY: tuple[str, ...] = OccurrenceKey._fields
# Who the series is for, by kind: a private series' student, a group's title.
SERIES_PARTY = {"PRIVATE": "student_id", "GROUP": "title"}


def series_key(kind: str) -> tuple[str, ...]:
    """Return the columns of the series key of `kind` (PRIVATE or GROUP)."""
    return tuple(SERIES_PARTY[kind] if f == "party" else f for f in SeriesKey._fields)


def columns(key: tuple[str, ...], alias: str = "") -> str:
    """Return a key's columns as an SQL list, each qualified by `alias` when given."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + column for column in key)


def same(
    key: tuple[str, ...],
    a: str,
    b: str,
    *,
    null_safe: tuple[str, ...] = (),
    renamed: dict[str, str] | None = None,
) -> str:
    """Return the SQL condition that rows `a` and `b` agree on `key`.

    Columns in `null_safe` compare NULLs as equal (the guards are NULLS NOT DISTINCT);
    `renamed` names the columns that `b` holds under another name.
    """
    other = renamed or {}
    return " AND ".join(
        f"{a}.{c} {'IS NOT DISTINCT FROM' if c in null_safe else '='} {b}.{other.get(c, c)}"
        for c in key
    )
