"""Pages: pause, resume, extend and end a series, each behind a confirmation that says
exactly what will happen (lessons cancelled or made, clashes that appear or clear), with
the lessons the caller may not read redacted (the read model's `changes.preview`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from komawari.auth.dependencies import Me, WritableSeries
from komawari.auth.policy import Principal
from komawari.errors import KomawariError
from komawari.series import changes, lifecycle, listing
from komawari.series.models import ClassSeries
from komawari.series.schemas import SeriesChange, SeriesEnd, SeriesExtend, SeriesPause
from komawari.web import forms
from komawari.web.deps import Db
from komawari.web.pages import CsrfChecked, UserPage
from komawari.web.routing import page_router

router = page_router()

Action = Literal["pause", "resume", "extend", "end", "change-from"]


class _Nothing(BaseModel):
    """Resume takes no input."""


SCHEMAS: dict[str, type[BaseModel]] = {
    "pause": SeriesPause,
    "resume": _Nothing,
    "extend": SeriesExtend,
    "end": SeriesEnd,
    "change-from": SeriesChange,
}


def _change(
    db: Session, series: ClassSeries, who: Principal, action: str, body: Any
) -> Callable[[], object]:
    """Return the service call that makes the change (the same for preview and confirm)."""
    if action == "pause":
        return lambda: lifecycle.pause(
            db, series.id, actor=who.actor, reason=body.reason, cancel_future=body.cancel_future,
            from_date=body.from_date, until=body.until,
        )  # fmt: skip
    if action == "resume":
        return lambda: lifecycle.resume(db, series.id, actor=who.actor)
    if action == "extend":
        return lambda: lifecycle.extend(db, series.id, last_date=body.last_date, actor=who.actor)
    if action == "change-from":
        return lambda: lifecycle.change_from(db, series.id, change=body, actor=who.actor)
    return lambda: lifecycle.end(
        db, series.id, last_date=body.last_date, actor=who.actor, reason=body.reason
    )


def _fields(items: list[tuple[str, Any]], action: str) -> dict[str, Any]:
    fields = forms.values(items)
    if action == "pause":
        fields["cancel_future"] = fields.get("cancel_future") == "1"
    if action == "extend":
        fields.setdefault("last_date", None)
    return fields


def _page(
    page: UserPage, db: Db, series: ClassSeries, who: Principal, action: str,
    fields: dict[str, Any], *, status: int = 200, errors: forms.Errors | None = None,
) -> Response:  # fmt: skip
    preview, problems = None, dict(errors or {})
    if not problems:
        try:
            body = SCHEMAS[action].model_validate(fields)
            preview = changes.preview(
                db, series.id, _change(db, series, who, action, body), viewer=who
            )
        except ValidationError as exc:
            if page.request.query_params or page.request.method == "POST":
                problems = forms.errors(exc)
    return page.render(
        "series_action.html",
        status,
        row=listing.one(db, series.id),
        action=action,
        fields=fields,
        errors=problems,
        preview=preview,
        choices=listing.choices(db, branch_ids=[series.branch_id])
        if action == "change-from"
        else None,
    )


@router.get("/series/{series_id}/{action}")
def series_action_form(
    series: WritableSeries, action: Action, request: Request, page: UserPage, who: Me, db: Db
) -> Response:
    """Ask to confirm a change, showing what it will do with the values given."""
    return _page(page, db, series, who, action, _fields(request.query_params.multi_items(), action))


@router.post("/series/{series_id}/{action}", dependencies=[CsrfChecked])
async def series_action(
    series: WritableSeries, action: Action, request: Request, page: UserPage, who: Me, db: Db
) -> Response:
    """Make the confirmed change, then show the series."""
    fields = _fields((await request.form()).multi_items(), action)
    try:
        body = SCHEMAS[action].model_validate(fields)
        made = _change(db, series, who, action, body)()
    except ValidationError as exc:
        forms.refused(db)
        return _page(page, db, series, who, action, fields, status=422, errors=forms.errors(exc))
    except KomawariError as exc:
        forms.refused(db)
        return _page(page, db, series, who, action, fields, status=exc.status_code,
                     errors={"form": exc.words})  # fmt: skip
    shown = made[0].id if action == "change-from" and isinstance(made, tuple) else series.id
    return RedirectResponse(f"/series/{shown}?done={action}", status_code=303)
