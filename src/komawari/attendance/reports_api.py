"""/api: a branch's outstanding make-up (振替) credits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from komawari.attendance import reports
from komawari.attendance.report_schemas import BranchCreditsRead
from komawari.auth.dependencies import ReadableBranch
from komawari.scheduling import clock
from komawari.web.deps import Db
from komawari.web.routing import api_router

router = api_router("/branches", "attendance")

Within = Annotated[
    int | None,
    Query(
        alias="expiring_within",
        ge=0,
        le=reports.MAX_WITHIN_DAYS,
        description="Only credits whose last day is at most this many days away (0: today)",
    ),
]


@router.get("/{branch_id}/credits", summary="A branch's usable make-up credits, per student")
def branch_credits(branch: ReadableBranch, db: Db, within: Within = None) -> BranchCreditsRead:
    """Every usable credit earned at the branch (a positive ledger balance, its last day
    not passed on the branch's today), per student with their balance and the days left;
    the ones expiring within 14 days; the flagged ones, for staff to decide."""
    found = reports.outstanding(
        db, [branch.id], today=clock.branch_today(branch.time_zone), expiring_within_days=within
    )
    return BranchCreditsRead.of(branch.id, found)
