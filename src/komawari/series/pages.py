"""Pages: the list of series, a series with its sessions and history, and the create form
that shows, before saving, the sessions it will make and their clashes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from komawari.audit import words as audit_words
from komawari.auth import policy
from komawari.auth.dependencies import ReadableSeries, StaffCaller, VisibleBranchIds
from komawari.branches import periods
from komawari.branches.models import Branch
from komawari.errors import DuplicateSeries, InvalidInput
from komawari.generation.enums import RunTrigger
from komawari.scheduling import clock, fields
from komawari.series import listing, preview
from komawari.series import service as series_service
from komawari.series.enums import SeriesStatus
from komawari.series.schemas import SeriesCreate
from komawari.web import forms
from komawari.web.deps import Db, OptId
from komawari.web.pages import CsrfChecked, Page, UserPage
from komawari.web.routing import page_router

router = page_router()


@router.get("/series")
def series_list(
    page: UserPage,
    who: StaffCaller,
    branch_ids: VisibleBranchIds,
    db: Db,
    branch_id: OptId = None,
    teacher_id: OptId = None,
    student_id: OptId = None,
    status: Annotated[SeriesStatus | None, Query()] = None,
) -> Response:
    """List series, filtered by branch, teacher, student and status."""
    found = listing.rows(
        db, branch_ids=branch_ids, teacher_id=teacher_id, student_id=student_id, status=status
    )
    filters = {"branch": branch_id, "teacher": teacher_id, "student": student_id, "status": status}
    return page.render(
        "series_list.html",
        rows=found,
        choices=listing.choices(db, branch_ids=policy.visible_branches(who)),
        filters=filters,
        statuses=list(SeriesStatus),
    )


def _form_page(
    page: Page,
    db: Db,
    who: Any,
    fields: dict[str, Any],
    *,
    want_preview: bool,
    status: int = 200,
    errors: forms.Errors | None = None,
    existing: int | None = None,
    fragment: bool = False,
) -> Response:
    """Render the create form (or only its preview) for the values typed so far."""
    dry_run, problems = None, dict(errors or {})
    if want_preview and not problems and existing is None:
        try:
            series_in = SeriesCreate.model_validate(periods.apply(db, fields))
            policy.require_write_in(who, series_in.branch_id)
            dry_run = preview.preview(db, series_in=series_in, actor=who.actor, viewer=who)
        except DuplicateSeries as exc:
            existing = exc.existing_id
        except (ValidationError, InvalidInput) as exc:
            problems = forms.errors(exc)
    context = {
        "fields": fields,
        "errors": problems,
        "dry_run": dry_run,
        "existing": existing,
        "choices": listing.choices(db, branch_ids=policy.visible_branches(who)),
    }
    if fragment:
        return page.render("_series_preview.html", status, **context)
    return page.render("series_new.html", status, **context)


@router.get("/series/new")
def series_new(request: Request, page: UserPage, who: StaffCaller, db: Db) -> Response:
    """Show the create form; with its values filled in, the preview too (works without JS)."""
    fields = forms.values(request.query_params.multi_items())
    want = "preview" in request.query_params
    fields.pop("preview", None)
    return _form_page(page, db, who, fields, want_preview=want)


@router.get("/series/preview")
def series_preview(request: Request, page: UserPage, who: StaffCaller, db: Db) -> Response:
    """Return only the preview of the create form (htmx swaps it in as values change)."""
    fields = forms.values(request.query_params.multi_items())
    fields.pop("preview", None)
    return _form_page(page, db, who, fields, want_preview=True, fragment=True)


@router.post("/series", dependencies=[CsrfChecked])
async def series_create(request: Request, page: UserPage, who: StaffCaller, db: Db) -> Response:
    """Create the series; a duplicate is named with a link to the existing one."""
    fields = forms.values((await request.form()).multi_items())
    try:
        series_in = SeriesCreate.model_validate(periods.apply(db, fields))
        policy.require_write_in(who, series_in.branch_id)
        series, _ = series_service.create(
            db, series_in=series_in, actor=who.actor, trigger=RunTrigger.API
        )
    except DuplicateSeries as exc:  # the database's guard is the authority, even in a race
        forms.refused(db)
        return _form_page(
            page, db, who, fields, want_preview=False, status=409, existing=exc.existing_id
        )
    except (ValidationError, InvalidInput) as exc:
        forms.refused(db)
        return _form_page(
            page, db, who, fields, want_preview=False, status=422, errors=forms.errors(exc)
        )
    return RedirectResponse(f"/series/{series.id}?created=1", status_code=303)


@router.get("/series/{series_id}")
def series_detail(
    series: ReadableSeries,
    page: UserPage,
    db: Db,
    since: Annotated[fields.Day | None, Query()] = None,
) -> Response:
    """Show a series: its pattern, its sessions from today on, and its history."""
    zone = db.get_one(Branch, series.branch_id).time_zone
    first = since or clock.branch_today(zone)
    return page.render(
        "series_detail.html",
        row=listing.one(db, series.id),
        sessions=listing.sessions_of(db, series.id, since=first),
        breaks=listing.breaks(db, series.id, since=first),
        history=audit_words.lines(db, listing.history(db, series.id), default_zone=zone),
        zone=zone,
        since=first,
        created="created" in page.request.query_params,
        done=page.request.query_params.get("done"),
    )
