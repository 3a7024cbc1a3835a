"""Make-up (振替) policies over the API and the page's form."""

from __future__ import annotations

from datetime import datetime, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from komawari.attendance.enums import AttendanceState
from komawari.series.schemas import Clock

Absence = Literal["absent_notified", "absent", "school_cancelled"]


class CreditPolicyIn(BaseModel):
    """A new version of a branch's policy for one kind of lesson."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "lesson_kind": "PRIVATE",
                    "earning_states": ["absent_notified"],
                    "notice_by": "16:30",
                    "expiry_days": None,
                    "monthly_cap": 2,
                    "same_kind_and_length": True,
                    "makeup_seats": 0,
                }
            ]
        },
    )

    lesson_kind: Literal["PRIVATE", "GROUP"]
    # Which absences earn a credit; absent_notified needs its notice in time.
    earning_states: list[Absence] = Field(default=["absent_notified"], max_length=3)
    # Notice by this local time on the lesson's day (and before it starts); null: before
    # the lesson starts.
    notice_by: Clock | None = None
    # Days a credit lasts; null: until the end of the month after the absence's.
    expiry_days: int | None = Field(default=None, ge=1, le=366)
    # Credits per student per month; null: no cap.
    monthly_cap: int | None = Field(default=2, ge=0, le=31)
    same_kind_and_length: bool = True
    # Seats a group lesson adds above its capacity for make-up students.
    makeup_seats: int = Field(default=0, ge=0, le=50)


class CreditPolicyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    branch_id: int
    lesson_kind: Literal["PRIVATE", "GROUP"]
    version: int
    earning_states: list[AttendanceState]
    notice_by: time | None
    expiry_days: int | None
    monthly_cap: int | None
    same_kind_and_length: bool
    makeup_seats: int
    created_at: datetime | None = None
    created_by: str | None = None


class CreditPolicies(BaseModel):
    """The policy in force for each kind of lesson (version 0: the built-in default), and
    every version the branch has had, newest first."""

    branch_id: int
    current: list[CreditPolicyRead]
    versions: list[CreditPolicyRead]
