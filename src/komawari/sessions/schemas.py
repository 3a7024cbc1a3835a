"""What a session looks like going in and coming out."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from komawari.scheduling.fields import Day, GivenReason, Name, Reason, field_error
from komawari.series.enums import SeriesKind
from komawari.series.schemas import Clock
from komawari.sessions.enums import SessionStatus
from komawari.words import say


class SessionCreate(BaseModel):
    """A one-off lesson (no series)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "branch_id": 1,
                    "teacher_id": 1,
                    "student_id": 1,
                    "date": "2026-12-03",
                    "start_time": "18:00",
                    "end_time": "19:00",
                }
            ]
        },
    )

    branch_id: int = Field(gt=0)
    teacher_id: int = Field(gt=0)
    kind: Literal["PRIVATE", "GROUP"] = "PRIVATE"
    student_id: int | None = Field(default=None, gt=0)
    student_ids: list[int] = Field(default_factory=list, max_length=1000)
    title: Name | None = None
    room_id: int | None = Field(default=None, gt=0)
    # A make-up (振替) lesson: the student's credit it uses, in the booking's transaction.
    credit_id: int | None = Field(default=None, gt=0)
    date: Day
    start_time: Clock
    end_time: Clock

    @model_validator(mode="after")
    def _shape(self) -> SessionCreate:
        if self.end_time <= self.start_time:
            later = say("time.end-not-after-start", "must be after the start time")
            raise field_error("end_time", later, self.end_time)
        if self.kind == "PRIVATE" and self.student_id is None:
            message = say("lesson.private-needs-student", "a private lesson needs a student")
            raise field_error("student_id", message, None)
        if self.kind == "PRIVATE" and self.student_ids:
            message = say(
                "lesson.private-students",
                "a private lesson has one student, not a list of students",
            )
            raise field_error("student_ids", message, self.student_ids)
        if self.kind == "GROUP" and self.student_id is not None:
            message = say(
                "lesson.group-one-student", "a group lesson has a list of students, not one student"
            )
            raise field_error("student_id", message, self.student_id)
        if self.kind == "GROUP" and self.title is None:
            message = say("lesson.group-needs-title", "a group lesson needs a title")
            raise field_error("title", message, None)
        return self


class SessionMove(BaseModel):
    """Move a session to another date, time or room, or give it a substitute teacher
    (`teacher_id`); it keeps its occurrence identity."""

    model_config = ConfigDict(extra="forbid")

    date: Day | None = None
    start_time: Clock | None = None
    end_time: Clock | None = None
    room_id: int | None = Field(default=None, gt=0)
    teacher_id: int | None = Field(
        default=None, gt=0, description="Who teaches it: a substitute, or its own teacher back"
    )
    reason: Reason | None = None

    @model_validator(mode="after")
    def _something(self) -> SessionMove:
        if (
            self.date is None
            and self.start_time is None
            and self.end_time is None
            and self.room_id is None
            and self.teacher_id is None
        ):
            message = say(
                "lesson.move-nothing", "give a new date, start or end time, room or teacher"
            )
            raise field_error("date", message, None)
        return self


class SessionCancel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: GivenReason


class SessionNote(BaseModel):
    """The lesson's note; empty (or null) removes it."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"note": "mock exam"}]}
    )

    note: Reason | None = None


class SessionRestore(BaseModel):
    """Bring back a cancelled lesson (why is optional)."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = None


class ConflictRef(BaseModel):
    """A session another one conflicts with, and what they share.

    A session the caller may not read (another branch's, or another teacher's for a
    teacher) is `hidden`: only its date, times and what it shares are given. Every clash
    the API shows has this shape: `conflicts_with` and `clashed_by` of a session read and
    of the day at a branch, and the series dry run's `conflicts_with`; all are built, and
    redacted, by `sessions.read_model`.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "session_id": 41,
                    "branch_id": 1,
                    "date": "2026-12-03",
                    "start_time": "18:00",
                    "end_time": "19:00",
                    "teacher_id": 1,
                    "teacher_name": "Sato Sensei",
                    "student_id": 2,
                    "student_name": "Haruto",
                    "title": None,
                    "room_id": 1,
                    "status": "CONFIRMED",
                    "shared": ["teacher", "room"],
                    "hidden": False,
                },
                {
                    "session_id": None,
                    "branch_id": None,
                    "date": "2026-12-03",
                    "start_time": "18:30",
                    "end_time": "19:30",
                    "teacher_id": None,
                    "teacher_name": None,
                    "student_id": None,
                    "student_name": None,
                    "title": None,
                    "room_id": None,
                    "status": None,
                    "shared": ["student"],
                    "hidden": True,
                },
            ]
        }
    )

    session_id: int | None
    branch_id: int | None
    date: dt.date
    start_time: Clock
    end_time: Clock
    teacher_id: int | None
    teacher_name: str | None
    student_id: int | None
    student_name: str | None
    title: str | None
    room_id: int | None
    status: SessionStatus | None
    shared: list[Literal["teacher", "student", "room"]]
    hidden: bool = False


class SessionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    branch_id: int
    series_id: int | None
    original_date: dt.date | None
    kind: SeriesKind
    title: str | None
    date: dt.date
    start_time: Clock
    end_time: Clock
    starts_at: dt.datetime
    ends_at: dt.datetime
    teacher_id: int
    substitute_for_id: int | None = Field(
        description="The lesson's own teacher when a substitute (teacher_id) takes it"
    )
    student_id: int | None
    room_id: int | None
    status: SessionStatus
    conflicts_with: list[ConflictRef] = Field(
        description="The earlier-booked sessions this CONFLICTED one clashes with"
    )
    cancel_reason: str | None
    note: str | None = Field(default=None, description="The office's note on this lesson")
    duplicate_of_id: int | None
    created_at: dt.datetime
    clashed_by: list[ConflictRef] = Field(
        default_factory=list,
        description="Later-booked sessions that clash with this one (it keeps its status)",
    )


class SessionPage(BaseModel):
    """A page of sessions in (date, start, id) order; pass next_cursor as cursor."""

    items: list[SessionRead]
    next_cursor: str | None


class ScheduleEntry(BaseModel):
    """One session of a teacher's day."""

    id: int
    series_id: int | None
    original_date: dt.date | None
    kind: SeriesKind
    title: str | None
    start_time: Clock
    end_time: Clock
    student_id: int | None
    student_name: str | None
    student_ids: list[int]
    room_id: int | None
    room_name: str | None
    status: SessionStatus
    cancel_reason: str | None
    conflicts_with: list[ConflictRef]
    clashed_by: list[ConflictRef] = Field(
        default_factory=list,
        description="Later-booked sessions that clash with this one (it keeps its status)",
    )
    makeup: bool = Field(
        default=False, description="A make-up (振替) lesson, booked with a student's credit"
    )
    makeup_for_id: int | None = Field(
        default=None,
        description="The absent lesson this make-up lesson makes up (null where the caller "
        "may not read that lesson)",
    )
    needs_substitute: bool = Field(
        default=False, description="Its teacher cannot come, and no substitute has taken it yet"
    )


class TeacherDay(BaseModel):
    """A teacher's sessions of the day, in time order."""

    teacher_id: int
    teacher_name: str
    sessions: list[ScheduleEntry]


class ScheduleCounts(BaseModel):
    total: int
    confirmed: int
    conflicted: int
    cancelled: int


class BranchSchedule(BaseModel):
    """The day at a branch: teachers (by name) with their sessions in time order."""

    branch_id: int
    branch_name: str
    time_zone: str
    date: dt.date
    counts: ScheduleCounts
    teachers: list[TeacherDay]


class FreeTeacherRead(BaseModel):
    """A teacher free for a lesson's whole time, and why they rank where they do."""

    teacher_id: int
    name: str
    taught_student: int = Field(description="Lessons with this lesson's student before it")
    same_branch: bool = Field(description="Teaches at this lesson's branch")
    lessons_that_day: int = Field(description="Live lessons on its date, at any branch")
    why: list[str]


class BusyTeacherRead(BaseModel):
    """A teacher busy at that time, with the lessons that overlap (redacted when another
    branch's)."""

    teacher_id: int
    name: str
    busy_with: list[ConflictRef]


class FreeTeachers(BaseModel):
    """Substitutes for a lesson: the free teachers, best first, and the busy ones apart."""

    free: list[FreeTeacherRead]
    busy: list[BusyTeacherRead]


class FreeRoomRead(BaseModel):
    room_id: int
    name: str
    capacity: int


class FreeRooms(BaseModel):
    """The active rooms of the lesson's branch free for its whole time (not its own)."""

    items: list[FreeRoomRead]


class ClashRead(BaseModel):
    """One clash: the later booking (CONFLICTED) and the earlier one it names, each
    redacted where the caller may not read it, and what they share."""

    later: ConflictRef
    earlier: ConflictRef
    shared: list[str]


class ClashList(BaseModel):
    """Every clash of a period at a branch (either lesson there, either lesson's date in
    the period), in time order."""

    date_from: dt.date = Field(serialization_alias="from")
    date_to: dt.date = Field(serialization_alias="to")
    count: int
    items: list[ClashRead]
