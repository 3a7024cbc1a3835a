"""Duplicate keys: what makes two lessons or two series the same."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import NamedTuple

# A lesson ends after it starts, on its own date: it lasts under 24 wall-clock hours and
# under 26 real ones (a fall-back adds an hour or so). So every lesson that overlaps a
# lesson `a` starts less than LESSON_SPAN before `a` does: conflict lookups probe an index
# on (resource, starts_at) over that window. The one place this bound is written.
LESSON_SPAN = timedelta(hours=26)
LESSON_SPAN_SQL = f"interval '{int(LESSON_SPAN.total_seconds()) // 3600} hours'"


class LessonKey(NamedTuple):
    """Promise 1: one non-cancelled private session per (date, start, end, teacher, student)."""

    date: date
    start_time: time
    end_time: time
    teacher_id: int
    student_id: int


class SeriesKey(NamedTuple):
    """Promise 3: one ACTIVE series per (branch, teacher, student or group, start, end, days)."""

    branch_id: int
    teacher_id: int
    party: int | str
    start_time: time
    end_time: time
    weekdays: int
