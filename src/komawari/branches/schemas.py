"""What branches and closure days look like going in and coming out."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from komawari.scheduling.fields import Day, Name, Reason, Zone
from komawari.sessions.schemas import SessionRead


class BranchCreate(BaseModel):
    """A new branch (school site) in an IANA time zone."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Shinjuku", "time_zone": "Asia/Tokyo"}]},
    )

    name: Name
    time_zone: Zone | None = Field(
        default=None,
        description="IANA time-zone name, e.g. Asia/Tokyo; default: the server's default zone",
    )


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

    date: Day
    reason: Reason = ""


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
