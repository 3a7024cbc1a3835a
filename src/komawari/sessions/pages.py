"""Pages: the day at a branch, a teacher's week, a student's week, and the start page."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from komawari.auth import policy
from komawari.auth.dependencies import (
    Me,
    ReadableBranch,
    ReadableSession,
    ReadableStudent,
    ReadableTeacher,
    WritableSession,
)
from komawari.auth.enums import Role
from komawari.branches import service as branches
from komawari.errors import InvalidInput
from komawari.sessions import day_page
from komawari.sessions import service as sessions
from komawari.sessions.schemas import SessionCancel
from komawari.web import forms
from komawari.web.deps import Db
from komawari.web.pages import CsrfChecked, UserPage

router = APIRouter(include_in_schema=False)

Day = Annotated[date | None, Query(description="YYYY-MM-DD; today when missing")]


def _today() -> date:
    return date.today()


@router.get("/")
def home(page: UserPage, who: Me, db: Db) -> Response:
    """Go to the caller's first branch's day (a teacher: their own week)."""
    if who.role == Role.TEACHER and who.teacher_id is not None:
        return RedirectResponse(f"/teachers/{who.teacher_id}/week", status_code=303)
    visible = branches.list_branches(db, ids=policy.visible_branches(who))
    if visible:
        return RedirectResponse(f"/branches/{visible[0].id}/day", status_code=303)
    return page.render("no_branch.html")


@router.get("/branches/{branch_id}/day")
def branch_day(
    branch: ReadableBranch,
    page: UserPage,
    db: Db,
    day: Annotated[date | None, Query(alias="date")] = None,
    by: Literal["teacher", "room"] = "teacher",
    cancelled: bool = False,
) -> Response:
    """Show the day at a branch: teachers (or rooms) as columns, time as rows."""
    view = day_page.branch_day(
        db, branch_id=branch.id, day=day or _today(), layout=by, show_cancelled=cancelled
    )
    return page.render("day.html", view=view, today=_today())


@router.get("/teachers/{teacher_id}/week")
def teacher_week(
    teacher: ReadableTeacher,
    page: UserPage,
    who: Me,
    db: Db,
    day: Annotated[date | None, Query(alias="date")] = None,
) -> Response:
    """Show a teacher's week (a teacher: their own only; staff: at their branches)."""
    shown = policy.session_filter(who, branch_id=None, teacher_id=teacher.id)
    view = day_page.week(
        db,
        owner_kind="teacher",
        owner_id=teacher.id,
        day=day or _today(),
        branch_ids=shown.branch_ids,
    )
    return page.render("week.html", view=view, today=_today())


@router.get("/students/{student_id}/week")
def student_week(
    student: ReadableStudent,
    page: UserPage,
    who: Me,
    db: Db,
    day: Annotated[date | None, Query(alias="date")] = None,
) -> Response:
    """Show a student's week (staff and admins; staff: at their branches)."""
    view = day_page.week(
        db,
        owner_kind="student",
        owner_id=student.id,
        day=day or _today(),
        branch_ids=policy.visible_branches(who),
    )
    return page.render("week.html", view=view, today=_today())


@router.get("/sessions/{session_id}")
def session_detail(row: ReadableSession, page: UserPage, who: Me, db: Db) -> Response:
    """Show a lesson, its clashes from both sides, and (staff) the form to cancel it."""
    access = policy.session_access(who, branch_id=row.branch_id, teacher_id=row.teacher_id)
    return page.render(
        "session_detail.html",
        view=day_page.session_view(db, row.id),
        done=page.request.query_params.get("done"),
        may_write=access == policy.Access.WRITE,
    )


@router.post("/sessions/{session_id}/cancel", dependencies=[CsrfChecked])
def session_cancel(
    row: WritableSession,
    page: UserPage,
    who: Me,
    db: Db,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Cancel a lesson with a reason; the page then shows the clashes this resolved."""
    try:
        SessionCancel.model_validate({"reason": reason})
        sessions.cancel(db, row.id, reason=reason, actor=who.actor)
    except (ValidationError, InvalidInput) as exc:
        return page.render(
            "session_detail.html",
            422,
            view=day_page.session_view(db, row.id),
            done=None,
            may_write=True,
            errors=forms.errors(exc),
            reason=reason,
        )
    return RedirectResponse(f"/sessions/{row.id}?done=cancel", status_code=303)
