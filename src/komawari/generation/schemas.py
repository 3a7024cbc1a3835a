"""What a generation run looks like going in and coming out."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from komawari.generation.counts import RunCounts
from komawari.generation.enums import RunStatus, RunTrigger
from komawari.scheduling.fields import field_error
from komawari.words import say


class RunResultRead(RunCounts):
    """What one run did: created, skipped and why, conflicts."""

    run_id: int
    status: str
    error: str | None = None


class RunRead(RunCounts):
    """A recorded generation run, with its counts."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    trigger: RunTrigger
    status: RunStatus
    branch_id: int | None
    series_id: int | None
    through_date: date | None
    started_at: datetime
    finished_at: datetime | None
    error: str | None
    actor: str | None


class RunPage(BaseModel):
    """A page of runs, newest first; pass next_cursor as cursor for the next page."""

    items: list[RunRead]
    next_cursor: str | None


class GenerateRequest(BaseModel):
    """Generate now: one branch, one series, or (admins) every branch."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"branch_id": 1}, {"series_id": 7}]}
    )

    branch_id: int | None = Field(default=None, gt=0, le=2**63 - 1)
    series_id: int | None = Field(default=None, gt=0, le=2**63 - 1)

    @model_validator(mode="after")
    def _one(self) -> GenerateRequest:
        if self.branch_id is not None and self.series_id is not None:
            message = say("generation.branch-and-series", "give a branch or a series, not both")
            raise field_error("series_id", message, self.series_id)
        return self
