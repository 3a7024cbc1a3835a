"""What a series looks like going in and coming out."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictInt,
    field_validator,
    model_validator,
)

from komawari.generation.schemas import RunResultRead
from komawari.scheduling.fields import Day, Name, Reason, field_error
from komawari.scheduling.parsing import parse_time
from komawari.scheduling.weekdays import WeekdayError, from_mask, to_mask
from komawari.series.enums import SeriesKind, SeriesStatus
from komawari.words import InvalidValue, Say, say

# A break's refusals, said by the schema and by the service alike.
NO_LAST_DAY = say(
    "break.no-last-day", "give the last day of the break, or leave the first day empty"
)


def ends_before_start(first: date) -> Say:
    """The refusal of a break that ends before its first day."""
    return say(
        "break.ends-before-start", "is before the first day of the break (%(day)s)", day=first
    )


def _time(value: Any) -> Any:
    # A number would parse as seconds since midnight UTC: an aware time that cannot be
    # compared with the naive wall-clock times of lessons.
    if isinstance(value, int | float):
        raise InvalidValue(say("value.not-a-time", "enter a time as HH:MM (24-hour)"))
    return parse_time(value) if isinstance(value, str) else value


def _hour_minute(value: time) -> str:
    return value.strftime("%H:%M" if value.second == 0 else "%H:%M:%S")


# A wall-clock time goes in and comes out as HH:MM (seconds only when there are some).
Clock = Annotated[
    time,
    BeforeValidator(_time),
    PlainSerializer(_hour_minute, return_type=str, when_used="json"),
]
Weekday = StrictInt | str  # JSON true is not Monday


class SeriesCreate(BaseModel):
    """A new series: private (one student) or group (a title, a capacity, enrolled students)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "branch_id": 1,
                    "teacher_id": 1,
                    "student_id": 1,
                    "weekdays": ["mon", "thu"],
                    "start_time": "20:00",
                    "end_time": "21:30",
                    "first_date": "2026-12-01",
                }
            ]
        },
    )

    branch_id: int = Field(gt=0)
    teacher_id: int = Field(gt=0)
    kind: Literal["PRIVATE", "GROUP"] = "PRIVATE"
    student_id: int | None = Field(default=None, gt=0)
    title: Name | None = None
    capacity: int | None = Field(default=None, gt=0, le=1000)
    student_ids: list[int] = Field(default_factory=list, max_length=1000)
    room_id: int | None = Field(default=None, gt=0)
    weekdays: list[Weekday] = Field(
        min_length=1, max_length=50, description="ISO numbers 1-7 or names mon..sun"
    )
    start_time: Clock
    end_time: Clock
    first_date: Day
    last_date: Day | None = None
    interval_weeks: int = Field(default=1, ge=1, le=52)

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, value: list[Weekday]) -> list[Weekday]:
        try:
            return list(from_mask(to_mask(value)))
        except WeekdayError as exc:
            raise ValueError(str(exc)) from exc

    @model_validator(mode="after")
    def _shape(self) -> SeriesCreate:
        if self.end_time <= self.start_time:
            later = say("time.end-not-after-start", "must be after the start time")
            raise field_error("end_time", later, self.end_time)
        if self.last_date is not None and self.last_date < self.first_date:
            message = say("series.last-before-first", "must not be before the first date")
            raise field_error("last_date", message, self.last_date)
        if self.kind == "PRIVATE":
            if self.student_id is None:
                message = say("series.private-needs-student", "a private series needs a student")
                raise field_error("student_id", message, None)
            if self.capacity is not None:
                message = say("series.private-capacity", "only a group series has a capacity")
                raise field_error("capacity", message, self.capacity)
            if self.student_ids:
                message = say(
                    "series.private-students", "only a group series has a list of students"
                )
                raise field_error("student_ids", message, self.student_ids)
        else:
            if self.student_id is not None:
                message = say(
                    "series.group-one-student",
                    "a group series has a list of students, not one student",
                )
                raise field_error("student_id", message, self.student_id)
            if self.title is None:
                message = say("series.group-needs-title", "a group series needs a title")
                raise field_error("title", message, None)
            if self.capacity is None:
                message = say("series.group-needs-capacity", "a group series needs a capacity")
                raise field_error("capacity", message, None)
            if len(set(self.student_ids)) > self.capacity:
                message = say("series.over-capacity", "more students than the capacity")
                raise field_error("student_ids", message, self.student_ids)
        return self

    @property
    def weekday_mask(self) -> int:
        """Return the normalised weekday key."""
        return to_mask(self.weekdays)


class SeriesChange(BaseModel):
    """A change "from this date on": fields left out keep their old value."""

    model_config = ConfigDict(extra="forbid")

    from_date: Day
    teacher_id: int | None = Field(default=None, gt=0)
    room_id: int | None = Field(default=None, gt=0)
    weekdays: list[Weekday] | None = Field(default=None, min_length=1, max_length=50)
    start_time: Clock | None = None
    end_time: Clock | None = None
    interval_weeks: int | None = Field(default=None, ge=1, le=52)
    last_date: Day | None = None

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, value: list[Weekday] | None) -> list[Weekday] | None:
        if value is None:
            return None
        try:
            return list(from_mask(to_mask(value)))
        except WeekdayError as exc:
            raise ValueError(str(exc)) from exc


class SeriesRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    branch_id: int
    teacher_id: int
    kind: SeriesKind
    student_id: int | None
    title: str | None
    capacity: int | None
    room_id: int | None
    weekdays: list[int]
    start_time: Clock
    end_time: Clock
    first_date: date
    last_date: date | None
    interval_weeks: int
    status: SeriesStatus
    status_reason: str | None
    generated_through: date | None
    created_at: datetime

    @field_validator("weekdays", mode="before")
    @classmethod
    def _mask(cls, value: Any) -> Any:
        return from_mask(value) if isinstance(value, int) else value


class SeriesPage(BaseModel):
    """A page of series by id; pass next_cursor as cursor for the next page."""

    items: list[SeriesRead]
    next_cursor: str | None


class SeriesCreated(SeriesRead):
    """A created series and what its first generation did."""

    generation: RunResultRead | None


class SeriesExtend(BaseModel):
    """A later last date (null: open-ended); generation runs at once."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"last_date": "2027-03-31"}]}
    )

    last_date: Day | None


class SeriesPause(BaseModel):
    """A break, or a pause until resumed.

    A break (`until`, and `from_date`, today when missing): the series' lessons from
    `from_date` to `until` (inclusive) are cancelled with the reason, none is made on those
    days, and the series goes on by itself after `until`; the lessons after it stay as they
    are. An open pause (no `until`): no more lessons are made until it is resumed; with
    `cancel_future` its lessons that have not started yet are cancelled. Resuming brings
    back the lessons the pause cancelled.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"from_date": "2026-12-24", "until": "2027-01-06", "reason": "winter break"},
                {"reason": "moving house", "cancel_future": True},
            ]
        },
    )

    reason: Reason | None = None
    cancel_future: bool = False
    from_date: Day | None = Field(default=None, description="A break's first day (today)")
    until: Day | None = Field(default=None, description="A break's last day (inclusive)")

    @model_validator(mode="after")
    def _a_break_has_a_last_day(self) -> SeriesPause:
        if self.from_date is not None and self.until is None:
            raise field_error("until", NO_LAST_DAY, None)
        if self.until is not None and self.from_date is not None and self.until < self.from_date:
            raise field_error("until", ends_before_start(self.from_date), self.until)
        return self


class SeriesEnd(BaseModel):
    """End or shorten: sessions after last_date are cancelled with a reason."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"last_date": "2027-01-31", "reason": "moved away"}]},
    )

    last_date: Day
    reason: Reason | None = None


class SeriesEnrol(BaseModel):
    """Enrol a student in a group series from a date (until a date)."""

    model_config = ConfigDict(extra="forbid")

    student_id: int = Field(gt=0, le=2**63 - 1)
    from_date: Day
    until_date: Day | None = None

    @model_validator(mode="after")
    def _order(self) -> SeriesEnrol:
        if self.until_date is not None and self.until_date < self.from_date:
            message = say(
                "enrolment.ends-before-start", "must not be before the first day of the enrolment"
            )
            raise field_error("until_date", message, self.until_date)
        return self


class SeriesUnenrol(BaseModel):
    """End a student's enrolment from a date."""

    model_config = ConfigDict(extra="forbid")

    student_id: int = Field(gt=0, le=2**63 - 1)
    from_date: Day


class SeriesActionResult(BaseModel):
    """A series after a lifecycle action: what was cancelled and generated."""

    series: SeriesRead
    cancelled_session_ids: list[int] = []
    restored_session_ids: list[int] = []
    generation: RunResultRead | None = None


class SeriesChanged(BaseModel):
    """A change from a date: the old series now ends the day before, a new one starts."""

    previous_series_id: int
    series: SeriesRead
    generation: RunResultRead


class EnrolmentResult(BaseModel):
    series_id: int
    student_id: int
    from_date: date
    until_date: date | None
    sessions_changed: int | None = None
