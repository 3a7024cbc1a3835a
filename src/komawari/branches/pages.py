"""Pages: a branch's closure days (adding one first shows the lessons it will cancel), its
periods (コマ) and the time its day-before reminders go."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import aliased

from komawari.auth.dependencies import Me, ReadableBranch, WritableBranch
from komawari.branches import periods
from komawari.branches import service as branches
from komawari.branches.schemas import ClosureCreate, PeriodCreate, ReminderTimeSet
from komawari.errors import KomawariError
from komawari.people.models import Student, Teacher
from komawari.scheduling import fields
from komawari.series.models import ClassSeries
from komawari.sessions.models import ClassSession
from komawari.web import forms
from komawari.web.deps import Db
from komawari.web.pages import CsrfChecked, Page, UserPage
from komawari.web.routing import page_router

router = page_router()


def lesson_names(db: Db, ids: list[int]) -> dict[int, str]:
    """Each lesson as a list names it: its student (or group) and its teacher."""
    if not ids:
        return {}
    teacher, student = aliased(Teacher), aliased(Student)
    rows = db.execute(
        select(ClassSession.id, student.name, ClassSeries.title, teacher.name)
        .join(teacher, teacher.id == ClassSession.teacher_id)
        .outerjoin(student, student.id == ClassSession.student_id)
        .outerjoin(ClassSeries, ClassSeries.id == ClassSession.series_id)
        .where(ClassSession.id.in_(ids))
    ).all()
    return {sid: f"{who or title or ''} · {t_name}" for sid, who, title, t_name in rows}


def _render(
    page: Page, db: Db, branch_id: int, fields: dict[str, Any], *, status: int = 200,
    errors: forms.Errors | None = None,
) -> Response:  # fmt: skip
    preview, problems = None, dict(errors or {})
    if fields.get("date") and not problems:
        try:
            wanted = ClosureCreate.model_validate(fields)
            preview = branches.preview_closure(db, branch_id, wanted.date, wanted.until)
        except ValidationError as exc:
            problems = forms.errors(exc)
    asked = page.request.query_params.get("holidays")
    holidays = (
        branches.preview_holidays(db, branch_id, closed=asked == "on")
        if asked in ("on", "off")
        else None
    )
    listed = [*(preview.sessions if preview else []), *(holidays.sessions if holidays else [])]
    return page.render(
        "closures.html",
        status,
        names=lesson_names(db, [s.id for s in listed]),
        holidays=holidays,
        holidays_wanted=asked,
        branch=branches.get(db, branch_id),
        closures=branches.closures(db, branch_id),
        fields=fields,
        errors=problems,
        preview=preview,
        done=page.request.query_params.get("done"),
    )


@router.get("/branches/{branch_id}/closures")
def closures(branch: ReadableBranch, request: Request, page: UserPage, db: Db) -> Response:
    """List a branch's closure days; with a date, show what closing it would cancel."""
    fields = forms.values(request.query_params.multi_items())
    fields.pop("done", None)
    return _render(page, db, branch.id, fields)


@router.post("/branches/{branch_id}/closures", dependencies=[CsrfChecked])
async def add_closure(
    branch: WritableBranch, request: Request, page: UserPage, who: Me, db: Db
) -> Response:
    """Close the branch on a day or a range of days: its lessons on those days are
    cancelled (kept, with a reason)."""
    fields = forms.values((await request.form()).multi_items())
    try:
        wanted = ClosureCreate.model_validate(fields)
        branches.add_closures(db, branch.id, wanted.days, reason=wanted.reason, actor=who.actor)
    except ValidationError as exc:
        forms.refused(db)
        return _render(page, db, branch.id, fields, status=422, errors=forms.errors(exc))
    except KomawariError as exc:
        forms.refused(db)
        return _render(page, db, branch.id, fields, status=exc.status_code,
                       errors={"date": exc.words})  # fmt: skip
    return RedirectResponse(f"/branches/{branch.id}/closures?done=added", status_code=303)


@router.post("/branches/{branch_id}/closures/remove", dependencies=[CsrfChecked])
def remove_closure(
    branch: WritableBranch, who: Me, db: Db, day: Annotated[fields.Day, Form(alias="date")]
) -> Response:
    """Reopen a day: the lessons cancelled for it come back."""
    branches.remove_closure(db, branch.id, day, actor=who.actor)
    return RedirectResponse(f"/branches/{branch.id}/closures?done=removed", status_code=303)


@router.post("/branches/{branch_id}/holidays", dependencies=[CsrfChecked])
def set_holidays(
    branch: WritableBranch,
    page: UserPage,
    who: Me,
    db: Db,
    closed: Annotated[str, Form(pattern="^(on|off)$")],
) -> Response:
    """Turn "closed on national holidays" on or off, after its preview."""
    try:
        branches.set_closed_on_holidays(db, branch.id, closed=closed == "on", actor=who.actor)
    except KomawariError as exc:
        forms.refused(db)
        return _render(page, db, branch.id, {}, status=exc.status_code,
                       errors={"holidays": exc.words})  # fmt: skip
    return RedirectResponse(f"/branches/{branch.id}/closures?done=holidays", status_code=303)


@router.get("/branches/{branch_id}/periods")
def periods_page(branch: ReadableBranch, page: UserPage, db: Db) -> Response:
    """List the branch's fixed periods (コマ), with a form to add one."""
    return _periods(page, db, branch.id, {})


def _periods(
    page: Page, db: Db, branch_id: int, fields: dict[str, Any], *, status: int = 200,
    errors: forms.Errors | None = None,
) -> Response:  # fmt: skip
    return page.render(
        "periods.html",
        status,
        branch=branches.get(db, branch_id),
        periods=[p for p, _ in periods.of(db, [branch_id])],
        fields=fields,
        errors=errors or {},
        done=page.request.query_params.get("done"),
    )


@router.post("/branches/{branch_id}/periods", dependencies=[CsrfChecked])
async def add_period(
    branch: WritableBranch, request: Request, page: UserPage, who: Me, db: Db
) -> Response:
    """Add a period; a name the branch has already is refused, named."""
    fields = forms.values((await request.form()).multi_items())
    try:
        periods.add(db, branch.id, PeriodCreate.model_validate(fields), actor=who.actor)
    except ValidationError as exc:
        forms.refused(db)
        return _periods(page, db, branch.id, fields, status=422, errors=forms.errors(exc))
    except KomawariError as exc:
        forms.refused(db)
        return _periods(page, db, branch.id, fields, status=exc.status_code,
                        errors={"name": exc.words})  # fmt: skip
    return RedirectResponse(f"/branches/{branch.id}/periods?done=added", status_code=303)


@router.post("/branches/{branch_id}/reminder-time", dependencies=[CsrfChecked])
async def set_reminder_time(
    branch: WritableBranch, request: Request, page: UserPage, who: Me, db: Db
) -> Response:
    """Set when the branch's day-before reminders go (its zone)."""
    fields = forms.values((await request.form()).multi_items())
    try:
        body = ReminderTimeSet.model_validate(fields)
    except ValidationError as exc:
        return _periods(page, db, branch.id, fields, status=422, errors=forms.errors(exc))
    branches.set_reminder_time(db, branch.id, at=body.time, actor=who.actor)
    return RedirectResponse(f"/branches/{branch.id}/periods?done=reminder", status_code=303)


@router.post("/branches/{branch_id}/periods/{period_id}/remove", dependencies=[CsrfChecked])
def remove_period(
    branch: WritableBranch, period_id: Annotated[int, Path(gt=0)], who: Me, db: Db
) -> Response:
    """Remove a period (lessons booked in it keep their times)."""
    periods.remove(db, branch.id, period_id, actor=who.actor)
    return RedirectResponse(f"/branches/{branch.id}/periods?done=removed", status_code=303)
