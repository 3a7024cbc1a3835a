"""Pages: the list of series, a series with its sessions and history, and the create form
that shows, before saving, the sessions it will make and their clashes."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from komawari.auth import service as auth
from komawari.errors import DuplicateSeries, InvalidInput, NotFound
from komawari.generation.enums import RunTrigger
from komawari.series import listing, preview
from komawari.series import service as series_service
from komawari.series.enums import SeriesStatus
from komawari.series.schemas import SeriesCreate
from komawari.web import forms
from komawari.web.deps import Db, Id, OptId
from komawari.web.pages import CsrfChecked, Page, PageCaller, UserPage

router = APIRouter(include_in_schema=False)


def _branch_ids(who: Any) -> list[int] | None:
    return None if who.is_admin else sorted(who.branch_ids)


@router.get("/series")
def series_list(
    page: UserPage,
    who: PageCaller,
    db: Db,
    branch: OptId = None,
    teacher: OptId = None,
    student: OptId = None,
    status: Annotated[SeriesStatus | None, Query()] = None,
) -> Response:
    """List series, filtered by branch, teacher, student and status."""
    auth.require_staff(who)
    if branch is not None:
        auth.check_read(who, branch, f"branch {branch}")
    branch_ids = [branch] if branch is not None else _branch_ids(who)
    found = listing.rows(
        db, branch_ids=branch_ids, teacher_id=teacher, student_id=student, status=status
    )
    return page.render(
        "series_list.html",
        rows=found,
        choices=listing.choices(db, branch_ids=_branch_ids(who)),
        filters={"branch": branch, "teacher": teacher, "student": student, "status": status},
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
    errors: dict[str, str] | None = None,
    existing: int | None = None,
    fragment: bool = False,
) -> Response:
    """Render the create form (or only its preview) for the values typed so far."""
    dry_run, problems = None, dict(errors or {})
    if want_preview and not problems and existing is None:
        try:
            series_in = SeriesCreate.model_validate(fields)
            auth.check_write(who, series_in.branch_id)
            dry_run = preview.preview(db, series_in=series_in, actor=who.actor)
        except DuplicateSeries as exc:
            existing = exc.existing_id
        except (ValidationError, InvalidInput) as exc:
            problems = forms.errors(exc)
    context = {
        "fields": fields,
        "errors": problems,
        "dry_run": dry_run,
        "existing": existing,
        "choices": listing.choices(db, branch_ids=_branch_ids(who)),
    }
    if fragment:
        return page.render("_series_preview.html", status, **context)
    return page.render("series_new.html", status, **context)


@router.get("/series/new")
def series_new(request: Request, page: UserPage, who: PageCaller, db: Db) -> Response:
    """Show the create form; with its values filled in, the preview too (works without JS)."""
    auth.require_staff(who)
    fields = forms.values(request.query_params.multi_items())
    want = "preview" in request.query_params
    fields.pop("preview", None)
    return _form_page(page, db, who, fields, want_preview=want)


@router.get("/series/preview")
def series_preview(request: Request, page: UserPage, who: PageCaller, db: Db) -> Response:
    """Return only the preview of the create form (htmx swaps it in as values change)."""
    auth.require_staff(who)
    fields = forms.values(request.query_params.multi_items())
    fields.pop("preview", None)
    return _form_page(page, db, who, fields, want_preview=True, fragment=True)


@router.post("/series", dependencies=[CsrfChecked])
async def series_create(request: Request, page: UserPage, who: PageCaller, db: Db) -> Response:
    """Create the series; a duplicate is named with a link to the existing one."""
    fields = forms.values((await request.form()).multi_items())
    try:
        series_in = SeriesCreate.model_validate(fields)
        auth.check_write(who, series_in.branch_id)
        series, _ = series_service.create(
            db, series_in=series_in, actor=who.actor, trigger=RunTrigger.API
        )
    except DuplicateSeries as exc:  # the database's guard is the authority, even in a race
        return _form_page(
            page, db, who, fields, want_preview=False, status=409, existing=exc.existing_id
        )
    except (ValidationError, InvalidInput) as exc:
        return _form_page(
            page, db, who, fields, want_preview=False, status=422, errors=forms.errors(exc)
        )
    return RedirectResponse(f"/series/{series.id}?created=1", status_code=303)


@router.get("/series/{series_id}")
def series_detail(
    series_id: Id,
    page: UserPage,
    who: PageCaller,
    db: Db,
    since: Annotated[date | None, Query()] = None,
) -> Response:
    """Show a series: its pattern, its sessions from today on, and its history."""
    auth.require_staff(who)
    row = listing.one(db, series_id)
    if row is None:
        raise NotFound(f"series {series_id} does not exist")
    auth.check_read(who, row.branch_id, f"series {series_id}")
    first = since or date.today()
    return page.render(
        "series_detail.html",
        row=row,
        sessions=listing.sessions_of(db, series_id, since=first),
        events=listing.history(db, series_id),
        since=first,
        created="created" in page.request.query_params,
        series=series_service.get(db, series_id),
    )
