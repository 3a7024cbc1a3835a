"""Attendance and credits over the API."""

from __future__ import annotations

from datetime import date, datetime, time

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from komawari.attendance.enums import AttendanceState, EntryKind
from komawari.sessions.schemas import SessionRead


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


class LessonMarks(BaseModel):
    """One lesson's marks in a day's roll."""

    model_config = ConfigDict(extra="forbid")

    session_id: int = Field(gt=0)
    marks: list[MarkIn] = Field(min_length=1, max_length=1000)


class DayMarks(BaseModel):
    """A day's roll at a branch: the marks of each of its lessons, in one request."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"lessons": [{"session_id": 1, "marks": [{"student_id": 1, "state": "present"}]}]}
            ]
        },
    )

    lessons: list[LessonMarks] = Field(min_length=1, max_length=500)


class DayMarksResult(BaseModel):
    """Each lesson's marks and what they did to the ledger."""

    branch_id: int
    date: date
    lessons: list[MarksResult]


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


class SlotRead(BaseModel):
    """A time a make-up lesson could be booked (POST /api/class-sessions with its fields
    and the credit's id), and why it ranks where it does."""

    model_config = ConfigDict(from_attributes=True)

    date: date
    start_time: time
    end_time: time
    teacher_id: int
    teacher_name: str
    room_id: int | None
    room_name: str | None
    same_teacher: bool
    usual_time: bool
    usual_day: bool
    session_id: int | None = Field(
        None,
        description="a group lesson to join (POST /api/class-sessions/{id}/makeup-attendees);"
        " None: a lesson to book",
    )
    seats_left: int | None = Field(None, description="of that group lesson (None: no limit)")
    same_group: bool = False


class MakeupJoin(BaseModel):
    """A student joins a group lesson as a make-up (振替), using one of their credits."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"student_id": 7, "credit_id": 3}]}
    )

    student_id: int = Field(gt=0)
    credit_id: int = Field(gt=0)


class MakeupJoined(BaseModel):
    """A group lesson joined as a make-up: the lesson, who is in it now, the credit used."""

    session: SessionRead
    student_ids: list[int] = Field(description="the lesson's students now, the make-up's too")
    credit_id: int


class MakeupSlotsRead(BaseModel):
    """The ranked make-up slots for one of the student's credits (`credit_id` None: the
    student has no usable credit)."""

    student_id: int
    credit_id: int | None
    expires_on: date | None
    absence_session_id: int | None
    branch_id: int | None
    # The absence was a group lesson: group make-ups are not offered by the finder yet.
    group: bool
    slots: list[SlotRead]


class TeacherAbsenceIn(BaseModel):
    """The lesson's teacher cannot come (`absent`: true), or can after all (false)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"absent": True, "reason": "flu"}]}
    )

    absent: bool
    reason: str | None = Field(default=None, max_length=500)


class TeacherAbsenceRead(BaseModel):
    session_id: int
    teacher_id: int
    needs_substitute: bool
