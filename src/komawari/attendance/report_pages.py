"""Pages: a branch's outstanding make-up (振替) credits, as a page and as CSV; and the
credits section of a student's week."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from fastapi import Query
from fastapi.responses import Response

from komawari.attendance import reports
from komawari.auth.dependencies import ReadableBranch
from komawari.scheduling import clock
from komawari.web import charts, i18n
from komawari.web.deps import Db
from komawari.web.pages import UserPage
from komawari.web.routing import page_router
from komawari.words import Say, say

router = page_router()

Within = Annotated[int | None, Query(alias="expiring_within", ge=0, le=reports.MAX_WITHIN_DAYS)]


@dataclass(frozen=True)
class MonthBar:
    """One month of the chart: credits whose last day falls in it."""

    month: date
    bar: charts.Bar


def month_bars(found: reports.Outstanding) -> tuple[charts.BarChart, list[MonthBar]]:
    """The usable credits per month of expiry as bars: `charts.daily_bars`' geometry, one
    slot per month (its `day` is the slot's index past the first month, not a date)."""
    per_month = found.by_month()
    first = next(iter(per_month), found.today.replace(day=1))
    slots = {first + timedelta(days=i): n for i, n in enumerate(per_month.values())}
    width = min(640, 80 * max(len(per_month), 1))  # a month's bar stays a bar, not a wall
    chart = charts.daily_bars(slots, first=first, days=len(per_month), width=width, height=100)
    return chart, [MonthBar(m, b) for m, b in zip(per_month, chart.bars, strict=True)]


@router.get("/branches/{branch_id}/credits")
def branch_credits(
    branch: ReadableBranch, page: UserPage, db: Db, within: Within = None
) -> Response:
    """List the branch's usable make-up credits per student, those expiring within 14
    days, the flagged ones, and the credits outstanding per month of expiry."""
    page.remember_branch(branch.id)
    found = reports.outstanding(
        db, [branch.id], today=clock.branch_today(branch.time_zone), expiring_within_days=within
    )
    chart, months = month_bars(found)
    return page.render(
        "credits.html",
        branch=branch,
        found=found,
        chart=chart,
        months=months,
        soon_days=reports.SOON_DAYS,
    )


# The CSV's columns, in the page's language.
COLUMNS: Sequence[Say] = (
    say("credits.csv.student-id", "Student ID"),
    say("credits.csv.student", "Student"),
    say("credits.csv.balance", "Balance"),
    say("credits.csv.credit-id", "Credit ID"),
    say("credits.csv.absence", "Absence date"),
    say("credits.csv.expires", "Last day"),
    say("credits.csv.days-left", "Days left"),
    say("credits.csv.soon", "Expiring soon"),
)
SOON = say("credits.csv.soon-yes", "yes")
# A cell a spreadsheet would read as a formula is written as text (OWASP: CSV injection).
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA) else text


def credits_csv(found: reports.Outstanding, locale: str) -> str:
    """The listing as CSV: a row per usable credit, headed in `locale`."""
    out = io.StringIO()
    rows = csv.writer(out, lineterminator="\r\n")
    rows.writerow([i18n.words(c, locale) for c in COLUMNS])
    soon = i18n.words(SOON, locale)
    for s in found.students:
        for c in s.credits:
            rows.writerow(
                [
                    s.student_id,
                    _cell(s.student_name),
                    s.balance,
                    c.id,
                    c.absence_date.isoformat(),
                    c.expires_on.isoformat(),
                    c.days_left,
                    soon if c.soon else "",
                ]
            )
    return out.getvalue()


@router.get("/branches/{branch_id}/credits.csv")
def branch_credits_csv(
    branch: ReadableBranch, page: UserPage, db: Db, within: Within = None
) -> Response:
    """The branch's usable make-up credits as CSV (UTF-8 with a BOM, so that a
    spreadsheet reads Japanese names)."""
    today = clock.branch_today(branch.time_zone)
    found = reports.outstanding(db, [branch.id], today=today, expiring_within_days=within)
    name = f"credits-branch-{branch.id}-{today.isoformat()}.csv"
    return Response(
        "\ufeff" + credits_csv(found, page.locale),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-cache",
        },
    )
