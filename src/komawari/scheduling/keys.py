"""Duplicate keys: what makes two lessons or two series the same."""

from __future__ import annotations

from datetime import date, time
from typing import NamedTuple


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
