"""/api/class-series: create (409 on an ACTIVE duplicate, dry_run), read, lifecycle."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response
from fastapi.responses import JSONResponse

from komawari.auth.dependencies import (
    NewSeries,
    ReadableSeries,
    VisibleBranchIds,
    WritableSeries,
)
from komawari.generation.enums import RunTrigger
from komawari.generation.schemas import RunResultRead
from komawari.generation.service import RunResult
from komawari.series import enrolment, lifecycle, preview
from komawari.series import service as series_service
from komawari.series.enums import SeriesStatus
from komawari.series.schemas import (
    EnrolmentResult,
    SeriesActionResult,
    SeriesChange,
    SeriesChanged,
    SeriesCreated,
    SeriesEnd,
    SeriesEnrol,
    SeriesExtend,
    SeriesPage,
    SeriesPause,
    SeriesRead,
    SeriesUnenrol,
)
from komawari.web.deps import Caller, Cursor, Db, Limit, OptId, id_after, next_id_cursor
from komawari.web.routing import api_router

router = api_router("/class-series", "class-series")


def _run(result: RunResult | None) -> RunResultRead | None:
    return RunResultRead(**result.as_dict()) if result else None


@router.get("", summary="List series")
def list_series(
    db: Db,
    branch_ids: VisibleBranchIds,
    teacher_id: OptId = None,
    status: SeriesStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> SeriesPage:
    """List series by id, filtered; staff see their branches only."""
    rows = series_service.list_series(
        db,
        branch_ids=branch_ids,
        status=status,
        teacher_id=teacher_id,
        after_id=id_after(cursor),
        limit=limit,
    )
    return SeriesPage(
        items=[SeriesRead.model_validate(r) for r in rows],
        next_cursor=next_id_cursor([r.id for r in rows], limit),
    )


@router.post(
    "",
    status_code=201,
    response_model=SeriesCreated,
    summary="Create a series (409 names an ACTIVE duplicate)",
    responses={
        200: {"model": preview.SeriesDryRun, "description": "dry_run=true: nothing written"}
    },
)
def create_series(
    body: NewSeries,
    db: Db,
    who: Caller,
    response: Response,
    dry_run: Annotated[bool, Query(description="Answer what it would create")] = False,
) -> Any:
    """Create a series and generate its sessions up to the horizon at once."""
    if dry_run:
        result = preview.preview(db, series_in=body, actor=who.actor, viewer=who)
        return JSONResponse(result.model_dump(mode="json"))
    series, run = series_service.create(db, series_in=body, actor=who.actor, trigger=RunTrigger.API)
    response.headers["Location"] = f"/api/class-series/{series.id}"
    return SeriesCreated(**SeriesRead.model_validate(series).model_dump(), generation=_run(run))


@router.get("/{series_id}", summary="Get a series")
def get_series(series: ReadableSeries) -> SeriesRead:
    """Return a series."""
    return SeriesRead.model_validate(series)


@router.post("/{series_id}/extend", summary="Extend to a later last date")
def extend(series: WritableSeries, body: SeriesExtend, db: Db, who: Caller) -> SeriesActionResult:
    """Give the series a later last date and generate at once; answer the run's counts."""
    done, run = lifecycle.extend(db, series.id, last_date=body.last_date, actor=who.actor)
    return SeriesActionResult(series=SeriesRead.model_validate(done), generation=_run(run))


@router.post("/{series_id}/pause", summary="Take a break, or pause until resumed")
def pause(series: WritableSeries, body: SeriesPause, db: Db, who: Caller) -> SeriesActionResult:
    """A break (`from_date`, `until`): its lessons in those days are cancelled and the
    series goes on by itself after `until`. An open pause (no `until`): no more lessons
    until resumed; with cancel_future, its lessons not started yet are cancelled."""
    done, ids = lifecycle.pause(
        db, series.id, actor=who.actor, reason=body.reason, cancel_future=body.cancel_future,
        from_date=body.from_date, until=body.until,
    )  # fmt: skip
    return SeriesActionResult(series=SeriesRead.model_validate(done), cancelled_session_ids=ids)


@router.post("/{series_id}/resume", summary="Resume, or end a break, from today")
def resume(series: WritableSeries, db: Db, who: Caller) -> SeriesActionResult:
    """Resume a paused series, or end its break, from today (409 if an ACTIVE duplicate
    exists): the future lessons the pause cancelled come back (restored_session_ids),
    each verdicted again, and the days from today are generated."""
    done, run, back = lifecycle.resume(db, series.id, actor=who.actor)
    return SeriesActionResult(
        series=SeriesRead.model_validate(done), generation=_run(run), restored_session_ids=back
    )


@router.post("/{series_id}/end", summary="End or shorten")
def end(series: WritableSeries, body: SeriesEnd, db: Db, who: Caller) -> SeriesActionResult:
    """End the series at last_date; later sessions are cancelled with a reason."""
    done, ids = lifecycle.end(
        db, series.id, last_date=body.last_date, actor=who.actor, reason=body.reason
    )
    return SeriesActionResult(series=SeriesRead.model_validate(done), cancelled_session_ids=ids)


@router.post("/{series_id}/change-from", summary="Change this and following")
def change_from(series: WritableSeries, body: SeriesChange, db: Db, who: Caller) -> SeriesChanged:
    """End the series the day before from_date and continue as a new series."""
    new, run = lifecycle.change_from(db, series.id, change=body, actor=who.actor)
    return SeriesChanged(
        previous_series_id=series.id,
        series=SeriesRead.model_validate(new),
        generation=RunResultRead(**run.as_dict()),
    )


@router.post("/{series_id}/enrolments", status_code=201, summary="Enrol a student (group)")
def enrol(series: WritableSeries, body: SeriesEnrol, db: Db, who: Caller) -> EnrolmentResult:
    """Enrol a student in a group series; its sessions from from_date gain the student."""
    row = enrolment.enrol(
        db,
        series.id,
        student_id=body.student_id,
        from_date=body.from_date,
        until_date=body.until_date,
        actor=who.actor,
    )
    return EnrolmentResult(
        series_id=series.id,
        student_id=row.student_id,
        from_date=row.from_date,
        until_date=row.until_date,
    )


@router.post("/{series_id}/unenrol", summary="End a student's enrolment (group)")
def unenrol(series: WritableSeries, body: SeriesUnenrol, db: Db, who: Caller) -> EnrolmentResult:
    """End a student's enrolment from from_date; later sessions drop the student."""
    removed = enrolment.unenrol(
        db, series.id, student_id=body.student_id, from_date=body.from_date, actor=who.actor
    )
    return EnrolmentResult(
        series_id=series.id,
        student_id=body.student_id,
        from_date=body.from_date,
        until_date=None,
        sessions_changed=removed,
    )
