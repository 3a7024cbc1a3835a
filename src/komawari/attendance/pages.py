"""Pages: the teacher's lessons today with a tap per student (`/me/today`), the roll on a
lesson's page, and a branch's day of rolls in one form (staff)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from komawari.attendance import roll, service, teacher_absence
from komawari.attendance.schemas import LessonMarks
from komawari.auth.dependencies import MarkableSession, Me, WritableBranch, WritableSession
from komawari.auth.enums import Role
from komawari.auth.policy import Principal
from komawari.branches.models import Branch
from komawari.errors import InvalidInput
from komawari.scheduling import clock, fields
from komawari.sessions import pages as session_pages
from komawari.web import forms
from komawari.web.deps import Db
from komawari.web.pages import CsrfChecked, Page, UserPage
from komawari.web.routing import page_router

router = page_router()
Refusals = (ValidationError, InvalidInput)


@router.get("/me/today")
def me_today(page: UserPage, who: Me, db: Db) -> Response:
    """Show the teacher's lessons today, each student with a button per mark."""
    return _today(page, db, who)


def _today(
    page: Page, db: Db, who: Principal, *, status: int = 200, errors: forms.Errors | None = None
) -> Response:
    teacher = who.role == Role.TEACHER
    asked = page.request.query_params
    return page.render(
        "me_today.html",
        status,
        teacher=teacher,
        rolls=roll.teacher_today(db, who) if teacher else [],
        states=roll.TEACHER_STATES,
        today=clock.school_today(),
        done=asked.get("done") if status == 200 else None,
        done_lesson=int(asked["lesson"]) if asked.get("lesson", "").isdigit() else None,
        errors=errors or {},
    )


@router.post("/me/today/{session_id}/mark", dependencies=[CsrfChecked])
def me_today_mark(
    row: MarkableSession,
    page: UserPage,
    who: Me,
    db: Db,
    student_id: Annotated[str, Form(max_length=20)] = "",
    state: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Mark one student of the lesson (one tap); back to the lesson on /me/today."""
    try:
        marks = roll.tapped(db, row, student_id, state)
        if marks:
            service.mark(db, row, marks, who.actor)
    except Refusals as exc:
        forms.refused(db)
        return _today(page, db, who, status=422, errors=forms.errors(exc))
    return RedirectResponse(f"/me/today?done=mark&lesson={row.id}#lesson-{row.id}", status_code=303)


@router.post("/me/today/{session_id}/all-present", dependencies=[CsrfChecked])
def me_today_all_present(row: MarkableSession, page: UserPage, who: Me, db: Db) -> Response:
    """Mark present every student of the lesson not marked yet (the others keep theirs)."""
    try:
        service.mark_all_present(db, row, who.actor)
    except Refusals as exc:
        forms.refused(db)
        return _today(page, db, who, status=422, errors=forms.errors(exc))
    return RedirectResponse(
        f"/me/today?done=all-present&lesson={row.id}#lesson-{row.id}", status_code=303
    )


@router.post("/sessions/{session_id}/attendance", dependencies=[CsrfChecked])
async def lesson_roll(
    row: MarkableSession, request: Request, page: UserPage, who: Me, db: Db
) -> Response:
    """Record the lesson's roll (or, before it, an absence notice) from its page."""
    posted = forms.values((await request.form()).multi_items())
    try:
        marks = roll.lesson_marks(db, posted, row)
        if marks:
            service.mark(db, row, marks, who.actor)
    except Refusals as exc:
        forms.refused(db)
        db.refresh(row)
        return session_pages._lesson_page(
            page, db, who, row, status=422, roll_errors=forms.errors(exc), roll_fields=posted
        )
    return RedirectResponse(f"/sessions/{row.id}?done=roll#roll", status_code=303)


@router.post("/sessions/{session_id}/teacher-absence", dependencies=[CsrfChecked])
def lesson_teacher_absence(
    row: WritableSession,
    page: UserPage,
    who: Me,
    db: Db,
    absent: Annotated[str, Form(max_length=1)] = "1",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """The lesson's teacher cannot come (a substitute is needed), or can after all."""
    try:
        teacher_absence.set_away(
            db, row, absent=absent == "1", reason=reason.strip() or None, actor=who.actor
        )
    except InvalidInput as exc:
        forms.refused(db)
        db.refresh(row)
        return session_pages._lesson_page(
            page, db, who, row, status=422, errors={"teacher_absence": exc.said or exc.detail}
        )
    done = "teacher-away" if absent == "1" else "teacher-back"
    return RedirectResponse(f"/sessions/{row.id}?done={done}#substitute", status_code=303)


Day = Annotated[fields.Day | None, Query(alias="date", description="YYYY-MM-DD; today")]


@router.get("/branches/{branch_id}/roll")
def branch_roll(
    branch: WritableBranch, page: UserPage, who: Me, db: Db, day: Day = None
) -> Response:
    """Show every live lesson of a branch's day with its students' marks, as one form."""
    page.remember_branch(branch.id)
    return _day(page, db, who, branch, day or clock.branch_today(branch.time_zone))


@router.post("/branches/{branch_id}/roll", dependencies=[CsrfChecked])
async def branch_roll_mark(
    branch: WritableBranch,
    request: Request,
    page: UserPage,
    who: Me,
    db: Db,
    day: Annotated[fields.Day, Query(alias="date", description="YYYY-MM-DD")],
) -> Response:
    """Record the whole day's roll in one go: all of it, or (refused) none of it."""
    posted = forms.values((await request.form()).multi_items())
    wanted: list[LessonMarks] = []
    try:
        wanted = roll.form_marks(db, posted)
        service.mark_day(db, branch.id, day, wanted, who.actor)
    except Refusals as exc:
        forms.refused(db)
        errors = _placed(forms.errors(exc), wanted)
        return _day(page, db, who, branch, day, status=422, errors=errors, posted=posted)
    return RedirectResponse(f"/branches/{branch.id}/roll?date={day}&done=roll", status_code=303)


def _day(
    page: Page, db: Db, who: Principal, branch: Branch, day: date, *, status: int = 200,
    errors: forms.Errors | None = None, posted: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    return page.render(
        "roll_day.html",
        status,
        branch=branch,
        day=day,
        previous=day - timedelta(days=1),
        following=day + timedelta(days=1),
        today=clock.branch_today(branch.time_zone),
        rolls=roll.branch_day(db, who, branch.id, day),
        done=page.request.query_params.get("done") if status == 200 else None,
        errors=errors or {},
        posted=posted or {},
    )


def _placed(errors: forms.Errors, wanted: list[LessonMarks]) -> forms.Errors:
    """Put a refusal of the day's n-th lesson (`lessons.n.field`) beside that lesson."""
    out: forms.Errors = {}
    for field, said in errors.items():
        parts = field.split(".")
        if parts[0] == "lessons" and len(parts) > 1 and parts[1].isdigit():
            n = int(parts[1])
            out[f"lesson-{wanted[n].session_id}" if n < len(wanted) else "form"] = said
        else:
            out[field] = said
    return out
