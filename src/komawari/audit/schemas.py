"""What audit events and the skipped report look like coming out."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class EventRead(BaseModel):
    """One change: who or what did it, when, to what, and why."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_type: str
    actor: str
    action: str
    subject_type: str
    subject_id: int | None
    branch_id: int | None
    series_id: int | None
    occurrence_date: date | None
    reason: str | None
    run_id: int | None
    repair_id: uuid.UUID | None
    details: dict[str, Any]


class EventPage(BaseModel):
    """A page of events, newest first; pass next_cursor as cursor for older ones."""

    items: list[EventRead]
    next_cursor: str | None


class DayCount(BaseModel):
    date: date
    count: int


class SeriesCount(BaseModel):
    series_id: int
    count: int


class SkippedReportRead(BaseModel):
    """Occurrences generation skipped because they already existed: per day, per series."""

    total: int
    per_day: list[DayCount]
    per_series: list[SeriesCount]
    events: list[EventRead]
