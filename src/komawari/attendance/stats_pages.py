"""Pages: a branch's month in numbers (集計): attendance rates and teacher hours, as a page
and as two CSV files."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from fastapi.responses import Response

from komawari.attendance import report_pages, stats
from komawari.attendance.enums import AttendanceState
from komawari.attendance.stats_schemas import Month
from komawari.auth.dependencies import ReadableBranch
from komawari.web import i18n
from komawari.web.deps import Db
from komawari.web.pages import UserPage
from komawari.web.routing import page_router
from komawari.words import Say, say

router = page_router()

# The hours chart: a bar per teacher, names on the left, the hours written after the bar.
LABEL_WIDTH, BAR_WIDTH, ROW_HEIGHT, VALUE_WIDTH = 150, 360, 22, 150


@dataclass(frozen=True)
class HoursBar:
    """One teacher's bar: their own hours, then their hours as a substitute."""

    row: stats.TeacherHours
    y: float
    own: float  # width of the own lessons' part
    substitute: float  # width of the substitute lessons' part, after it

    @property
    def substitute_x(self) -> float:
        """Where the substitute part starts."""
        return round(LABEL_WIDTH + self.own, 2)

    @property
    def value_x(self) -> float:
        """Where the hours are written, after the bar."""
        return round(LABEL_WIDTH + self.own + self.substitute + 4, 2)


@dataclass(frozen=True)
class HoursChart:
    """A horizontal bar per teacher, scaled to the most minutes taught."""

    width: int
    height: int
    label_width: int
    bars: list[HoursBar]


def hours_chart(found: stats.HoursReport) -> HoursChart:
    """The hours each teacher taught as bars (own and substitute parts), longest = full."""
    top = max((t.taught.minutes for t in found.teachers), default=0) or 1
    bars = [
        HoursBar(
            row=t,
            y=i * ROW_HEIGHT,
            own=round(t.own.minutes / top * BAR_WIDTH, 2),
            substitute=round(t.substitute.minutes / top * BAR_WIDTH, 2),
        )
        for i, t in enumerate(found.teachers)
    ]
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    return HoursChart(width, max(len(bars), 1) * ROW_HEIGHT, LABEL_WIDTH, bars)


@router.get("/branches/{branch_id}/reports")
def branch_reports(branch: ReadableBranch, page: UserPage, db: Db, month: Month = None) -> Response:
    """Show the month's attendance per teacher and per group, and each teacher's lessons
    and hours (own, as a substitute, cancelled), with a bar chart of the hours."""
    page.remember_branch(branch.id)
    first = month or stats.this_month(branch.time_zone)
    found_hours = stats.hours(db, branch.id, month=first)
    return page.render(
        "stats.html",
        branch=branch,
        month=first,
        previous=stats.previous_month(first),
        next=stats.next_month(first),
        attendance=stats.attendance(db, branch.id, month=first),
        hours=found_hours,
        chart=hours_chart(found_hours),
        states=list(AttendanceState),
    )


# The CSV files' columns and words, in the page's language.
HOURS_COLUMNS: Sequence[Say] = (
    say("stats.csv.teacher-id", "Teacher ID"),
    say("stats.csv.teacher", "Teacher"),
    say("stats.csv.lessons", "Lessons taught"),
    say("stats.csv.hours", "Hours"),
    say("stats.csv.substitute-lessons", "Substitute lessons"),
    say("stats.csv.substitute-hours", "Substitute hours"),
    say("stats.csv.cancelled-lessons", "Lessons cancelled by the school"),
    say("stats.csv.cancelled-hours", "Hours cancelled by the school"),
)
STATE_WORDS: dict[AttendanceState, Say] = {
    AttendanceState.PRESENT: say("stats.csv.present", "Present"),
    AttendanceState.LATE: say("stats.csv.late", "Late"),
    AttendanceState.LEFT_EARLY: say("stats.csv.left-early", "Left early"),
    AttendanceState.ABSENT_NOTIFIED: say("stats.csv.absent-notified", "Absent (notified)"),
    AttendanceState.ABSENT: say("stats.csv.absent", "Absent"),
    AttendanceState.SCHOOL_CANCELLED: say("stats.csv.school-cancelled", "Cancelled by the school"),
}
ATTENDANCE_COLUMNS: Sequence[Say] = (
    say("stats.csv.by", "Teacher or group"),
    say("stats.csv.id", "ID"),
    say("stats.csv.name", "Name"),
    say("stats.csv.lesson-count", "Number of lessons"),
    *(STATE_WORDS[state] for state in AttendanceState),
    say("stats.csv.rate", "Attendance rate (%)"),
    say("stats.csv.not-taken", "Lessons without attendance taken"),
    say("stats.csv.to-come", "Lessons still to come"),
)
BY_TEACHER = say("stats.csv.by-teacher", "Teacher")
BY_GROUP = say("stats.csv.by-group", "Group")


def _hours(minutes: int) -> str:
    return f"{minutes / 60:.2f}"


def _rate(tally: stats.Tally) -> str:
    return "" if tally.rate is None else f"{tally.rate * 100:.1f}"


def hours_csv(found: stats.HoursReport, locale: str) -> str:
    """The teacher hours as CSV: a row per teacher, headed in `locale`."""
    out = io.StringIO()
    rows = csv.writer(out, lineterminator="\r\n")
    rows.writerow([i18n.words(c, locale) for c in HOURS_COLUMNS])
    for t in found.teachers:
        rows.writerow(
            [
                t.teacher_id,
                report_pages._cell(t.teacher_name),
                t.own.lessons,
                _hours(t.own.minutes),
                t.substitute.lessons,
                _hours(t.substitute.minutes),
                t.cancelled.lessons,
                _hours(t.cancelled.minutes),
            ]
        )
    return out.getvalue()


def attendance_csv(found: stats.AttendanceReport, locale: str) -> str:
    """The attendance as CSV: a row per teacher, then a row per group, headed in `locale`."""
    out = io.StringIO()
    rows = csv.writer(out, lineterminator="\r\n")
    rows.writerow([i18n.words(c, locale) for c in ATTENDANCE_COLUMNS])
    listed: Iterable[tuple[Say, int | None, str, stats.Tally]] = (
        *((BY_TEACHER, t.teacher_id, t.teacher_name, t.tally) for t in found.teachers),
        *((BY_GROUP, g.series_id, g.title, g.tally) for g in found.groups),
    )
    for by, key, name, tally in listed:
        rows.writerow(
            [
                i18n.words(by, locale),
                "" if key is None else key,
                report_pages._cell(name),
                tally.lessons,
                *(tally.marks[state] for state in AttendanceState),
                _rate(tally),
                tally.not_taken,
                tally.to_come,
            ]
        )
    return out.getvalue()


def _csv(text: str, name: str) -> Response:
    """A CSV file to save (UTF-8 with a BOM, so that a spreadsheet reads Japanese names)."""
    return Response(
        "\ufeff" + text,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-cache",
        },
    )


def _file_name(kind: str, branch_id: int, month: date) -> str:
    return f"{kind}-branch-{branch_id}-{month:%Y-%m}.csv"


@router.get("/branches/{branch_id}/reports/hours.csv")
def branch_hours_csv(
    branch: ReadableBranch, page: UserPage, db: Db, month: Month = None
) -> Response:
    """The month's lessons and hours per teacher as CSV."""
    first = month or stats.this_month(branch.time_zone)
    found = stats.hours(db, branch.id, month=first)
    return _csv(hours_csv(found, page.locale), _file_name("hours", branch.id, first))


@router.get("/branches/{branch_id}/reports/attendance.csv")
def branch_attendance_csv(
    branch: ReadableBranch, page: UserPage, db: Db, month: Month = None
) -> Response:
    """The month's attendance per teacher and per group as CSV."""
    first = month or stats.this_month(branch.time_zone)
    found = stats.attendance(db, branch.id, month=first)
    return _csv(attendance_csv(found, page.locale), _file_name("attendance", branch.id, first))
