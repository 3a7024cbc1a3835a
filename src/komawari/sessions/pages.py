"""Pages: the day at a branch, a teacher's week, a student's week, and the start page."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from komawari.auth import service as auth
from komawari.auth.enums import Role
from komawari.branches import service as branches
from komawari.errors import InvalidInput, NotFound
from komawari.sessions import day_page
from komawari.sessions import service as sessions
from komawari.sessions.schemas import SessionCancel
from komawari.web import forms
from komawari.web.deps import Db, Id
from komawari.web.pages import CsrfChecked, PageCaller, UserPage

router = APIRouter(include_in_schema=False)

Day = Annotated[date | None, Query(description="YYYY-MM-DD; today when missing")]


def _today() -> date:
    return date.today()


@router.get("/")
def home(page: UserPage, who: PageCaller, db: Db) -> Response:
    """Go to the caller's first branch's day (a teacher: their own week)."""
    if who.role == Role.TEACHER and who.teacher_id is not None:
        return RedirectResponse(f"/teachers/{who.teacher_id}/week", status_code=303)
    visible = branches.list_branches(db, ids=None if who.is_admin else sorted(who.branch_ids))
    if visible:
        return RedirectResponse(f"/branches/{visible[0].id}/day", status_code=303)
    return page.render("no_branch.html")


@router.get("/branches/{branch_id}/day")
def branch_day(
    branch_id: Id,
    page: UserPage,
    who: PageCaller,
    db: Db,
    day: Annotated[date | None, Query(alias="date")] = None,
    by: Literal["teacher", "room"] = "teacher",
    cancelled: bool = False,
) -> Response:
    """Show the day at a branch: teachers (or rooms) as columns, time as rows."""
    auth.require_staff(who)
    auth.check_read(who, branch_id, f"branch {branch_id}")
    view = day_page.branch_day(
        db, branch_id=branch_id, day=day or _today(), layout=by, show_cancelled=cancelled
    )
    return page.render("day.html", view=view, today=_today())


@router.get("/teachers/{teacher_id}/week")
def teacher_week(
    teacher_id: Id,
    page: UserPage,
    who: PageCaller,
    db: Db,
    day: Annotated[date | None, Query(alias="date")] = None,
) -> Response:
    """Show a teacher's week (a teacher: their own only)."""
    if who.role == Role.TEACHER and who.teacher_id != teacher_id:
        auth.check_read(who, -1, f"teacher {teacher_id}")
    view = day_page.week(
        db,
        owner_kind="teacher",
        owner_id=teacher_id,
        day=day or _today(),
        branch_ids=None if who.is_admin or who.role == Role.TEACHER else sorted(who.branch_ids),
    )
    return page.render("week.html", view=view, today=_today())


@router.get("/students/{student_id}/week")
def student_week(
    student_id: Id,
    page: UserPage,
    who: PageCaller,
    db: Db,
    day: Annotated[date | None, Query(alias="date")] = None,
) -> Response:
    """Show a student's week (staff and admins)."""
    auth.require_staff(who)
    view = day_page.week(
        db,
        owner_kind="student",
        owner_id=student_id,
        day=day or _today(),
        branch_ids=None if who.is_admin else sorted(who.branch_ids),
    )
    return page.render("week.html", view=view, today=_today())


@router.get("/sessions/{session_id}")
def session_detail(session_id: Id, page: UserPage, who: PageCaller, db: Db) -> Response:
    """Show a lesson, its clashes from both sides, and (staff) the form to cancel it."""
    view = day_page.session_view(db, session_id)
    if who.role == Role.TEACHER:
        if view.teacher_id != who.teacher_id:
            raise NotFound(f"session {session_id} does not exist")
    else:
        auth.check_read(who, view.branch_id, f"session {session_id}")
    return page.render(
        "session_detail.html",
        view=view,
        done=page.request.query_params.get("done"),
        may_write=who.role != Role.TEACHER,
    )


@router.post("/sessions/{session_id}/cancel", dependencies=[CsrfChecked])
def session_cancel(
    session_id: Id,
    page: UserPage,
    who: PageCaller,
    db: Db,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Cancel a lesson with a reason; the page then shows the clashes this resolved."""
    view = day_page.session_view(db, session_id)
    auth.check_read(who, view.branch_id, f"session {session_id}")
    auth.check_write(who, view.branch_id)
    try:
        SessionCancel.model_validate({"reason": reason})
        sessions.cancel(db, session_id, reason=reason, actor=who.actor)
    except (ValidationError, InvalidInput) as exc:
        return page.render(
            "session_detail.html",
            422,
            view=view,
            done=None,
            may_write=True,
            errors=forms.errors(exc),
            reason=reason,
        )
    return RedirectResponse(f"/sessions/{session_id}?done=cancel", status_code=303)
