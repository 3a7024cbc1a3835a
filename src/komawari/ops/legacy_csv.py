"""Reading a legacy export (CSV files with a header row) into plain rows, or row errors.

Pure: no database. A bad row is reported with its file and line (the header is line 1)
and every problem of the row in one message; the other rows are still read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, TypeVar

from komawari.ops.legacy_text import records
from komawari.scheduling import values
from komawari.scheduling.parsing import parse_date, parse_time
from komawari.scheduling.weekdays import WeekdayError, to_mask

SERIES_COLUMNS = (
    "id",
    "branch",
    "teacher",
    "student",
    "start_time",
    "end_time",
    "days_of_week",
    "status",
    "created_at",
)
SESSION_COLUMNS = (
    "id",
    "series_id",
    "date",
    "start_time",
    "end_time",
    "teacher",
    "student",
    "status",
    "created_at",
)
NAME_LENGTH, ID_LENGTH = 200, 100
SERIES_STATUSES = ("ACTIVE", "PAUSED", "ENDED")
SESSION_STATUSES = ("CONFIRMED", "CONFLICTED", "CANCELLED")

T = TypeVar("T")


@dataclass(frozen=True)
class RowError:
    """A row that was not loaded: where it is and what is wrong with it."""

    file: str
    line: int
    message: str
    legacy_id: str = ""


@dataclass(frozen=True)
class LegacySeries:
    """One series row of the export."""

    line: int
    legacy_id: str
    branch: str
    teacher: str
    student: str
    start_time: time
    end_time: time
    weekdays: int
    status: str
    created_at: datetime


@dataclass(frozen=True)
class LegacySession:
    """One session row of the export (`series_id` None for a one-off)."""

    line: int
    legacy_id: str
    series_id: str | None
    date: date
    start_time: time
    end_time: time
    teacher: str
    student: str
    status: str
    created_at: datetime
    branch: str | None


class _Row:
    """One CSV record: read fields, collecting every problem instead of stopping."""

    def __init__(self, record: dict[str, str | None]) -> None:
        self.record = record
        self.problems: list[str] = []

    def raw(self, column: str) -> str:
        value = self.record.get(column)
        return (value or "").strip()

    def text(self, column: str, longest: int = NAME_LENGTH) -> str:
        value = self.raw(column)
        if not value:
            self.problems.append(f"{column}: required")
        elif len(value) > longest:
            self.problems.append(f"{column}: longer than {longest} characters")
        else:
            self.check(column, value, values.check_text)
        return value

    def name(self, column: str) -> str:
        before = len(self.problems)
        value = self.text(column)
        if value and len(self.problems) == before:
            self.check(column, value, values.check_name)
        return value

    def optional(self, column: str, rule: Callable[[str], str]) -> str | None:
        value = self.raw(column)
        if value:
            self.check(column, value, rule)
        return value or None

    def check(self, column: str, value: str, rule: Callable[[str], str]) -> None:
        try:
            rule(value)
        except ValueError as exc:
            self.problems.append(f"{column}: {exc}")

    def parse(self, column: str, parser: Callable[[str], T]) -> T | None:
        value = self.text(column)
        if not value:
            return None
        try:
            return parser(value)
        except (ValueError, TypeError) as exc:
            self.problems.append(f"{column}: {exc}")
            return None

    def times(self) -> tuple[time | None, time | None]:
        start = self.parse("start_time", parse_time)
        end = self.parse("end_time", parse_time)
        if start is not None and end is not None and end <= start:
            self.problems.append(f"end_time: {end:%H:%M} is not after start_time {start:%H:%M}")
        return start, end

    def unique(self, legacy_id: str, seen: dict[str, int]) -> None:
        if legacy_id in seen:
            self.problems.append(f"id: {legacy_id!r} is already used on line {seen[legacy_id]}")

    def choice(self, column: str, allowed: tuple[str, ...]) -> str:
        value = self.text(column).upper()
        if value and value not in allowed:
            self.problems.append(f"status: {value!r} is not one of {', '.join(allowed)}")
        return value


def parse_instant(value: str) -> datetime:
    """Parse an ISO 8601 date-time with an offset."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an ISO 8601 date-time") from exc
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset (e.g. +09:00)")
    return moment


def parse_booked(value: str) -> datetime:
    """Parse a booking time: an ISO 8601 date-time with an offset, not in the future.

    Generation and conflicts take every stored booking time as earlier than the rows being
    made now (booking order is commit order), so a clock from elsewhere may not run ahead.
    """
    moment = values.check_moment(parse_instant(value))
    if moment > datetime.now(UTC):
        raise ValueError(f"{value!r} lies in the future")
    return moment


def parse_days(value: str) -> int:
    """Parse a JSON array of ISO weekday numbers, any order, repeats allowed, into a mask."""
    try:
        days: Any = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{value!r} is not a JSON array such as [1,4]") from exc
    if not isinstance(days, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) for d in days
    ):
        raise ValueError(f"{value!r} is not a JSON array of weekday numbers such as [1,4]")
    try:
        return to_mask(days)
    except WeekdayError as exc:
        raise ValueError(str(exc)) from exc


def read_series(path: Path, encoding: str = "utf-8") -> tuple[list[LegacySeries], list[RowError]]:
    """Read the series file."""
    rows: list[LegacySeries] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for line, record in records(path, SERIES_COLUMNS, encoding):
        row = _Row(record)
        legacy_id = row.text("id", ID_LENGTH)
        row.unique(legacy_id, seen)
        seen.setdefault(legacy_id, line)
        start, end = row.times()
        branch, teacher, student = row.name("branch"), row.name("teacher"), row.name("student")
        weekdays = row.parse("days_of_week", parse_days)
        status = row.choice("status", SERIES_STATUSES)
        created = row.parse("created_at", parse_booked)
        if row.problems or start is None or end is None or weekdays is None or created is None:
            errors.append(RowError(path.name, line, "; ".join(row.problems), legacy_id))
            continue
        rows.append(
            LegacySeries(
                line, legacy_id, branch, teacher, student, start, end, weekdays, status, created
            )
        )
    return rows, errors


def read_sessions(
    path: Path, encoding: str = "utf-8"
) -> tuple[list[LegacySession], list[RowError]]:
    """Read the sessions file (an optional `branch` column places one-off lessons)."""
    rows: list[LegacySession] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for line, record in records(path, SESSION_COLUMNS, encoding):
        row = _Row(record)
        legacy_id = row.text("id", ID_LENGTH)
        row.unique(legacy_id, seen)
        seen.setdefault(legacy_id, line)
        start, end = row.times()
        day = row.parse("date", parse_date)
        teacher, student = row.name("teacher"), row.name("student")
        status = row.choice("status", SESSION_STATUSES)
        created = row.parse("created_at", parse_booked)
        series_id = row.optional("series_id", values.check_text)
        branch = row.optional("branch", values.check_name)
        if row.problems or start is None or end is None or day is None or created is None:
            errors.append(RowError(path.name, line, "; ".join(row.problems), legacy_id))
            continue
        rows.append(
            LegacySession(
                line,
                legacy_id,
                series_id,
                day,
                start,
                end,
                teacher,
                student,
                status,
                created,
                branch,
            )
        )
    return rows, errors
