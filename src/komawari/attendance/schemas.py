"""Attendance and credits over the API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from komawari.attendance.enums import AttendanceState, EntryKind


class MarkIn(BaseModel):
    """One student's mark: before the lesson, an absence notice; after it, the roll."""

    model_config = ConfigDict(extra="forbid")

    student_id: int = Field(gt=0)
    state: AttendanceState
    # When the school was told of an absence (default: now); only for absent_notified.
    notified_at: AwareDatetime | None = None


class Marks(BaseModel):
    """The marks of one lesson, one per student."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"marks": [{"student_id": 1, "state": "absent_notified"}]}]
        },
    )

    marks: list[MarkIn] = Field(min_length=1, max_length=1000)


class MarkRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    student_id: int
    state: AttendanceState
    notified_at: datetime | None
    marked_at: datetime


class MarksResult(BaseModel):
    """The lesson's marks and what they did to the ledger."""

    session_id: int
    marks: list[MarkRead]
    credits_issued: list[int]
    credits_revoked: list[int]
    credits_flagged: list[int]


class EntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    credit_id: int
    kind: EntryKind
    amount: int
    session_id: int | None
    reason: str | None
    at: datetime


class CreditRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    absence_session_id: int
    absence_date: date
    expires_on: date
    policy_version: int
    flagged_at: datetime | None


class CreditsRead(BaseModel):
    """A student's make-up credits: the balance is the sum of the entries."""

    student_id: int
    balance: int
    credits: list[CreditRead]
    entries: list[EntryRead]
