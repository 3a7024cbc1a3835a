"""A branch's month in numbers as the API answers it; the month as a query parameter."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, BeforeValidator

from komawari.attendance import stats
from komawari.attendance.enums import AttendanceState


def _month(value: Any) -> Any:
    return stats.parse_month(value) if value is not None else None


# `?month=YYYY-MM`; absent: the month of the branch's today.
Month = Annotated[
    date | None,
    BeforeValidator(_month),
    Query(description="YYYY-MM (default: this month at the branch)", examples=["2026-12"]),
]


class TallyRead(BaseModel):
    """Marks by state, the rate, and the lessons without any mark."""

    marks: dict[AttendanceState, int]  # every state, 0 where none
    attended: int  # present, late or left early
    rated: int  # every mark but school_cancelled
    rate: float | None  # attended / rated, 0 to 1; None without a rated mark
    lessons: int  # live lessons
    not_taken: int  # ended without any mark
    to_come: int  # not yet ended, without any mark

    @classmethod
    def fields_of(cls, tally: stats.Tally) -> dict[str, Any]:
        """The fields of a tally, for this model and those that extend it."""
        return {
            "marks": dict(tally.marks),
            "attended": tally.attended,
            "rated": tally.rated,
            "rate": None if tally.rate is None else round(tally.rate, 4),
            "lessons": tally.lessons,
            "not_taken": tally.not_taken,
            "to_come": tally.to_come,
        }


class TeacherAttendanceRead(TallyRead):
    """The marks of the lessons a teacher taught (as a substitute too)."""

    teacher_id: int
    teacher_name: str


class GroupAttendanceRead(TallyRead):
    """The marks of a group's lessons: a series (`series_id`), or one-off group lessons of
    one title (`series_id` null)."""

    series_id: int | None
    title: str


class BranchAttendanceRead(BaseModel):
    """A branch's attendance in a month: per teacher, per group, and in all."""

    branch_id: int
    month: str  # YYYY-MM
    teachers: list[TeacherAttendanceRead]
    groups: list[GroupAttendanceRead]
    total: TallyRead

    @classmethod
    def of(cls, branch_id: int, found: stats.AttendanceReport) -> BranchAttendanceRead:
        """The answer of `stats.attendance` at one branch."""
        return cls(
            branch_id=branch_id,
            month=found.month.strftime("%Y-%m"),
            teachers=[
                TeacherAttendanceRead(
                    teacher_id=t.teacher_id, teacher_name=t.teacher_name,
                    **TallyRead.fields_of(t.tally),
                )
                for t in found.teachers
            ],
            groups=[
                GroupAttendanceRead(
                    series_id=g.series_id, title=g.title, **TallyRead.fields_of(g.tally)
                )
                for g in found.groups
            ],
            total=TallyRead(**TallyRead.fields_of(found.total)),
        )  # fmt: skip


class HoursRead(BaseModel):
    """Lessons (コマ) and their time, in minutes and in hours (to the hundredth)."""

    lessons: int
    minutes: int
    hours: float

    @classmethod
    def of(cls, taught: stats.Taught) -> HoursRead:
        """The counts of `taught`."""
        return cls(lessons=taught.lessons, minutes=taught.minutes, hours=taught.hours)


class TeacherHoursRead(BaseModel):
    """What a teacher taught in the month: their own live lessons, live lessons as a
    substitute (代講), and their lessons cancelled (休講), each apart."""

    teacher_id: int
    teacher_name: str
    own: HoursRead
    substitute: HoursRead
    cancelled: HoursRead

    @classmethod
    def of(cls, row: stats.TeacherHours) -> TeacherHoursRead:
        """The counts of one teacher."""
        return cls(
            teacher_id=row.teacher_id,
            teacher_name=row.teacher_name,
            own=HoursRead.of(row.own),
            substitute=HoursRead.of(row.substitute),
            cancelled=HoursRead.of(row.cancelled),
        )


class TotalHoursRead(BaseModel):
    """Every teacher's counts added up."""

    own: HoursRead
    substitute: HoursRead
    cancelled: HoursRead


class BranchHoursRead(BaseModel):
    """A branch's teacher hours in a month, per teacher by name."""

    branch_id: int
    month: str  # YYYY-MM
    teachers: list[TeacherHoursRead]
    total: TotalHoursRead

    @classmethod
    def of(cls, branch_id: int, found: stats.HoursReport) -> BranchHoursRead:
        """The answer of `stats.hours` at one branch."""
        total = found.total
        return cls(
            branch_id=branch_id,
            month=found.month.strftime("%Y-%m"),
            teachers=[TeacherHoursRead.of(t) for t in found.teachers],
            total=TotalHoursRead(
                own=HoursRead.of(total.own),
                substitute=HoursRead.of(total.substitute),
                cancelled=HoursRead.of(total.cancelled),
            ),
        )
