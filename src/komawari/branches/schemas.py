"""What branches and closure days look like going in and coming out."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from komawari.scheduling import values
from komawari.scheduling.fields import Day, Name, Reason, Zone, field_error
from komawari.series.schemas import Clock
from komawari.sessions.schemas import SessionRead
from komawari.words import say


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
    closed_on_holidays: bool = False
    # When the day-before reminders of its lessons go out, in its zone (docs/notifications.md).
    reminder_time: dt.time = dt.time(18, 0)
    created_at: dt.datetime


class ReminderTimeSet(BaseModel):
    """When the branch's day-before reminders go out, in its own zone."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"time": "19:30"}]})

    time: dt.time = Field(description="HH:MM in the branch's zone")


class BranchList(BaseModel):
    """The branches this token may see."""

    items: list[BranchRead]


MAX_CLOSURE_DAYS = 366  # one request closes a year of days at most


class ClosureCreate(BaseModel):
    """Close a branch on a day, or on every day from `date` to `until` (inclusive): its
    sessions on those days are cancelled as branch_closed."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"date": "2026-12-29", "until": "2027-01-03", "reason": "year-end holidays"},
                {"date": "2027-02-11", "reason": "National Foundation Day"},
            ]
        },
    )

    date: Day
    until: Day | None = Field(default=None, description="The last day closed (inclusive)")
    reason: Reason = ""

    @model_validator(mode="after")
    def _a_range(self) -> ClosureCreate:
        if self.until is not None and self.until < self.date:
            said = say(
                "closure.until-before-date",
                "is before the first day (%(day)s)",
                day=self.date,
            )
            raise field_error("until", said, self.until)
        if self.until is not None and (self.until - self.date).days >= MAX_CLOSURE_DAYS:
            said = say(
                "closure.too-many-days", "closes %(days)s days at most", days=MAX_CLOSURE_DAYS
            )
            raise field_error("until", said, self.until)
        return self

    @property
    def days(self) -> list[dt.date]:
        """Every day the closure covers."""
        last = self.until or self.date
        return [self.date + dt.timedelta(days=n) for n in range((last - self.date).days + 1)]


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
    until: dt.date | None = None
    cancelled_session_ids: list[int]
    would_cancel: list[SessionRead] = []


class ClosureRemoved(BaseModel):
    """A day reopened: sessions restored and occurrences generated."""

    branch_id: int
    date: dt.date
    restored: int
    created: int


class HolidaySetting(BaseModel):
    """Close the branch on Japan's national holidays (each holiday of the next two years
    becomes a closure, its lessons cancelled), or stop (those from today on reopen)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"closed": True}]})

    closed: bool


class HolidayDay(BaseModel):
    date: dt.date
    name: str


class HolidaySettingRead(BaseModel):
    """The setting, the days it closed or reopened, and the lessons it cancelled or
    brought back (with dry_run: what it would do; nothing written)."""

    dry_run: bool
    branch_id: int
    closed_on_holidays: bool
    days: list[HolidayDay]
    sessions: list[SessionRead]


class PeriodCreate(BaseModel):
    """One of a branch's fixed periods (コマ): "1限", 16:00-17:20."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "1限", "start_time": "16:00", "end_time": "17:20"}]
        },
    )

    name: Annotated[str, Field(min_length=1, max_length=50), AfterValidator(values.check_name)]
    start_time: Clock
    end_time: Clock

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> PeriodCreate:
        if self.end_time <= self.start_time:
            said = say("time.end-not-after-start", "must be after the start time")
            raise field_error("end_time", said, self.end_time)
        return self


class PeriodRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    branch_id: int
    name: str
    start_time: Clock
    end_time: Clock


class PeriodList(BaseModel):
    items: list[PeriodRead]
