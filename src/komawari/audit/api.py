"""/api/audit: the audit log and the skipped-due-to-existing report."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Query

from komawari.audit import service as audit_service
from komawari.audit.models import AuditEvent
from komawari.audit.schemas import (
    DayCount,
    EventPage,
    EventRead,
    SeriesCount,
    SkippedReportRead,
)
from komawari.auth.dependencies import VisibleBranchIds
from komawari.auth.policy import Principal
from komawari.scheduling.fields import Moment
from komawari.sessions import read_model
from komawari.web.deps import Caller, Cursor, Db, Limit, OptId, id_after, next_id_cursor
from komawari.web.routing import api_router

router = api_router("/audit", "audit")
Since = Annotated[Moment | None, Query(description="ISO date-time; events at or after it")]
Text = Annotated[str | None, Query(max_length=64, pattern=r"^[\w.:-]+$")]


def _since(value: dt.datetime | None) -> dt.datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=dt.UTC)


def _read(db: Db, who: Principal, rows: list[AuditEvent]) -> list[EventRead]:
    """Return the events as `who` may read them: the lessons their details list (e.g. a
    cancel's re-evaluated lessons) named only where `who` may read them (the read model)."""
    details = read_model.audit_details(db, who, [e.details for e in rows])
    return [
        EventRead.model_validate(e).model_copy(update={"details": d})
        for e, d in zip(rows, details, strict=True)
    ]


@router.get("/events", summary="Audit events, newest first")
def events(
    db: Db,
    who: Caller,
    branch_ids: VisibleBranchIds,
    action: Text = None,
    subject_type: Text = None,
    subject_id: OptId = None,
    series_id: OptId = None,
    since: Since = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> EventPage:
    """Return who or what changed what, when and why; staff see their branches' events."""
    rows = audit_service.events(
        db,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        branch_ids=branch_ids,
        series_id=series_id,
        since=_since(since),
        before_id=id_after(cursor) or None,
        limit=limit,
    )
    items = _read(db, who, rows)
    return EventPage(items=items, next_cursor=next_id_cursor([e.id for e in items], limit))


@router.get("/skipped", summary="Occurrences skipped because they already existed")
def skipped(
    db: Db, who: Caller, branch_ids: VisibleBranchIds, since: Since = None, limit: Limit = 200
) -> SkippedReportRead:
    """Count per day and per series the occurrences generation found already there."""
    report = audit_service.skipped_report(
        db, since=_since(since), branch_ids=branch_ids, limit=limit
    )
    return SkippedReportRead(
        total=report.total,
        per_day=[DayCount(date=d, count=n) for d, n in report.per_day.items()],
        per_series=[SeriesCount(series_id=s, count=n) for s, n in report.per_series.items()],
        events=_read(db, who, report.events),
    )
