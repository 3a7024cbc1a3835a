"""What branches and closure days look like going in and coming out."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, field_validator

from komawari.config import get_settings
from komawari.scheduling.timerules import UnknownZoneError, zone
from komawari.sessions.schemas import SessionRead


class BranchCreate(BaseModel):
    """A new branch (school site) in an IANA time zone."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Shinjuku", "time_zone": "Asia/Tokyo"}]},
    )

    name: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]*\S[^\x00-\x1f]*$")
    time_zone: str = Field(
        default_factory=lambda: get_settings().default_timezone,
        max_length=64,
        description="IANA time-zone name, e.g. Asia/Tokyo",
    )

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zone(value)
        except UnknownZoneError as exc:
            raise ValueError(str(exc)) from exc
        return value


class BranchRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    time_zone: str
    created_at: dt.datetime


class BranchList(BaseModel):
    """The branches this token may see."""

    items: list[BranchRead]


class ClosureCreate(BaseModel):
    """Close a branch on a day: its sessions that day are cancelled as branch_closed."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"date": "2026-12-29", "reason": "year-end holiday"}]},
    )

    date: dt.date
    reason: str = Field(default="", max_length=500, pattern=r"^[^\x00]*$")


class ClosureRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    branch_id: int
    date: dt.date
    reason: str
    created_at: dt.datetime


class ClosureList(BaseModel):
    items: list[ClosureRead]


class ClosureAdded(BaseModel):
    """A closure added (or, with dry_run, the sessions it would cancel)."""

    dry_run: bool
    branch_id: int
    date: dt.date
    cancelled_session_ids: list[int]
    would_cancel: list[SessionRead] = []


class ClosureRemoved(BaseModel):
    """A day reopened: sessions restored and occurrences generated."""

    branch_id: int
    date: dt.date
    restored: int
    created: int
