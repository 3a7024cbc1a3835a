"""/api: a day's roll at a branch, every lesson's marks in one request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from komawari.attendance import service
from komawari.attendance.schemas import DayMarks, DayMarksResult, MarkRead, MarksResult
from komawari.auth.dependencies import WritableBranch
from komawari.scheduling import fields
from komawari.web.deps import Caller, Db
from komawari.web.routing import api_router

router = api_router("/branches", "attendance")


@router.post("/{branch_id}/attendance", summary="Mark a day's attendance at a branch")
def mark_day(
    branch: WritableBranch,
    body: DayMarks,
    db: Db,
    who: Caller,
    day: Annotated[fields.Day, Query(alias="date", description="YYYY-MM-DD")],
) -> DayMarksResult:
    """Record the marks of the day's lessons, all or nothing: a lesson of another branch
    or day is refused (422, `attendance.not-that-day`) and nothing is marked."""
    done = service.mark_day(db, branch.id, day, body.lessons, who.actor)
    return DayMarksResult(
        branch_id=branch.id,
        date=day,
        lessons=[
            MarksResult(
                session_id=row.id,
                marks=[MarkRead.model_validate(m) for m in marked.marks],
                credits_issued=marked.issued,
                credits_revoked=marked.revoked,
                credits_flagged=marked.flagged,
            )
            for row, marked in done
        ],
    )
