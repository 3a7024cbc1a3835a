"""What teachers, students and rooms look like going in and coming out."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from komawari.scheduling.fields import Name

_ADDRESS_PART = r"[^@\s\x00-\x1f\x7f-\x9f]+"
Email = Field(default=None, max_length=320, pattern=f"^{_ADDRESS_PART}@{_ADDRESS_PART}$")


class PersonCreate(BaseModel):
    """A new teacher or student (names are unique)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Sato Sensei"}]}
    )

    name: Name
    email: str | None = Email


class PersonRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str | None
    active: bool
    created_at: datetime


class Rename(BaseModel):
    """A new name for a teacher, student or room (unique as on creation)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "Sato"}]})

    name: Name


class PersonPage(BaseModel):
    """A page of people by id; pass next_cursor as cursor for the next page."""

    items: list[PersonRead]
    next_cursor: str | None


class RoomCreate(BaseModel):
    """A new room at a branch."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"branch_id": 1, "name": "Room 1", "capacity": 4}]},
    )

    branch_id: int = Field(gt=0, le=2**63 - 1)
    name: Name
    capacity: int = Field(gt=0, le=10_000)


class RoomRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    branch_id: int
    name: str
    capacity: int
    active: bool
    created_at: datetime


class RoomPage(BaseModel):
    """A page of rooms by id; pass next_cursor as cursor for the next page."""

    items: list[RoomRead]
    next_cursor: str | None
