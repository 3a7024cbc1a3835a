"""What teachers, students and rooms look like going in and coming out."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

Name = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]*\S[^\x00-\x1f]*$")
Email = Field(default=None, max_length=320, pattern=r"^[^@\s\x00]+@[^@\s\x00]+$")


class PersonCreate(BaseModel):
    """A new teacher or student (names are unique)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Sato Sensei"}]}
    )

    name: str = Name
    email: str | None = Email


class PersonRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str | None
    created_at: datetime


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
    name: str = Name
    capacity: int = Field(gt=0, le=10_000)


class RoomRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    branch_id: int
    name: str
    capacity: int
    created_at: datetime


class RoomPage(BaseModel):
    """A page of rooms by id; pass next_cursor as cursor for the next page."""

    items: list[RoomRead]
    next_cursor: str | None
