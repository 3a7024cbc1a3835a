"""Pages: the day at a branch, a teacher's week, a student's week, and the start page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from komawari.attendance import reports
from komawari.attendance import roll as roll_pages
from komawari.auth import policy
from komawari.auth.dependencies import (
    Me,
    ReadableBranch,
    ReadableSession,
    ReadableStudent,
    ReadableTeacher,
    StaffCaller,
    WritableSession,
)
from komawari.auth.enums import Role
from komawari.auth.policy import Principal
from komawari.branches import periods, versions
from komawari.branches import service as branches
from komawari.errors import DuplicateSession, InvalidInput, KomawariError
from komawari.notices import contact_pages
from komawari.scheduling import clock, fields
from komawari.series import listing
from komawari.sessions import availability, day_page, lesson_views, read_model
from komawari.sessions import service as sessions
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from komawari.sessions.schemas import (
    SessionCancel,
    SessionCreate,
    SessionMove,
    SessionNote,
    SessionRestore,
)
from komawari.web import forms
from komawari.web.deps import Db
from komawari.web.pages import CsrfChecked, Page, UserPage
from komawari.web.routing import page_router

router = page_router()

Day = Annotated[date | None, Query(description="YYYY-MM-DD; today when missing")]


@router.get("/")
def home(page: UserPage, who: Me, db: Db) -> Response:
    """Go to the day of the caller's last branch, else their first (a teacher: their own
    week)."""
    if who.role == Role.TEACHER and who.teacher_id is not None:
        return RedirectResponse(f"/teachers/{who.teacher_id}/week", status_code=303)
    visible = branches.list_branches(db, ids=policy.visible_branches(who))
    if visible:
        last = page.user.user.last_branch_id if page.user else None
        shown = next((b for b in visible if b.id == last), visible[0])
        return RedirectResponse(f"/branches/{shown.id}/day", status_code=303)
    return page.render("no_branch.html")


def _page_tag(
    page: Page, who: Principal, state: versions.State, *parts: object
) -> tuple[str | None, dict[str, str]]:
    """Return a page's ETag (None: the browser's copy is current, answer 304) and headers.

    The tag names everything the page draws: the counters of what it shows, the request's
    `parts`, who asks and how (language, CSRF token, what they may see of other lessons),
    and the branches the header lists.
    """
    user = page.user
    tag = state.etag(
        "page", *parts, page.locale, page.csrf_token, user.user.id if user else None,
        user.user.username if user else None, user.user.role if user else None,
        page.new_anonymous_token is not None, sorted(who.branch_ids), who.teacher_id,
        [(b.id, b.name, b.time_zone) for b in page.nav_branches],
    )  # fmt: skip
    headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
    current = page.new_anonymous_token is None and versions.matches(
        page.request.headers.get("if-none-match"), tag
    )
    return (None if current else tag), headers


def _tagged(response: Response, headers: dict[str, str]) -> Response:
    response.headers.update(headers)
    return response


@router.get("/branches/{branch_id}/day")
def branch_day(
    branch: ReadableBranch,
    page: UserPage,
    who: Me,
    db: Db,
    day: Annotated[fields.Day | None, Query(alias="date")] = None,
    by: Literal["teacher", "room"] = "teacher",
    cancelled: bool = False,
    printing: Annotated[bool, Query(alias="print")] = False,
) -> Response:
    """Show the day at a branch: teachers (or rooms) as columns, time as rows (`print`:
    the printable view, in sheets of at most eight columns)."""
    page.remember_branch(branch.id)
    today = clock.branch_today(branch.time_zone)
    shown = day or today
    state = versions.state(db, [branch.id])
    tag, headers = _page_tag(page, who, state, branch.id, shown, by, cancelled, today, printing)
    if tag is None:
        return Response(status_code=304, headers=headers)
    view = day_page.branch_day(
        db, branch_id=branch.id, day=shown, layout=by, show_cancelled=cancelled, viewer=who,
        printing=printing,
    )  # fmt: skip
    return _tagged(page.render("day.html", view=view, today=today), headers)


@router.get("/branches/{branch_id}/week")
def branch_week(
    branch: ReadableBranch,
    page: UserPage,
    who: Me,
    db: Db,
    day: Annotated[fields.Day | None, Query(alias="date")] = None,
    by: Literal["teacher", "period"] = "teacher",
) -> Response:
    """Show a branch's week: teachers (or its periods) as rows, days as columns, each
    lesson a link."""
    page.remember_branch(branch.id)
    today = clock.branch_today(branch.time_zone)
    view = lesson_views.branch_week(db, branch, day or today, viewer=who, by=by)
    return page.render("branch_week.html", view=view, today=today)


@router.get("/branches/{branch_id}/clashes")
def branch_clashes(
    branch: ReadableBranch,
    page: UserPage,
    who: Me,
    db: Db,
    weeks: Annotated[int, Query(ge=1, le=13)] = 4,
) -> Response:
    """List every clash of the next weeks at a branch: both sides, what they share, and
    the lesson's actions that fix it."""
    page.remember_branch(branch.id)
    first = clock.branch_today(branch.time_zone)
    last = first + timedelta(days=7 * weeks - 1)
    pairs = read_model.clash_pairs(db, branch_ids=[branch.id], first=first, last=last, viewer=who)
    return page.render(
        "clashes.html", branch=branch, pairs=pairs, first=first, last=last, weeks=weeks
    )


@router.get("/teachers/{teacher_id}/week")
def teacher_week(
    teacher: ReadableTeacher,
    page: UserPage,
    who: Me,
    db: Db,
    day: Annotated[fields.Day | None, Query(alias="date")] = None,
) -> Response:
    """Show a teacher's week (a teacher: their own only; staff: at their branches)."""
    shown = policy.session_filter(who, branch_id=None, teacher_id=teacher.id)
    today = clock.school_today()
    first = day or today
    state = versions.state(db, shown.branch_ids)  # a teacher's lessons: at every branch
    tag, headers = _page_tag(page, who, state, "teacher", teacher.id, first, today)
    if tag is None:
        return Response(status_code=304, headers=headers)
    view = lesson_views.week(
        db, owner_kind="teacher", owner_id=teacher.id, day=first, branch_ids=shown.branch_ids,
        viewer=who,
    )  # fmt: skip
    return _tagged(page.render("week.html", view=view, today=today), headers)


@router.get("/students/{student_id}/week")
def student_week(
    student: ReadableStudent,
    page: UserPage,
    who: Me,
    db: Db,
    day: Annotated[fields.Day | None, Query(alias="date")] = None,
) -> Response:
    """Show a student's week (staff and admins; staff: at their branches)."""
    view = lesson_views.week(
        db,
        owner_kind="student",
        owner_id=student.id,
        day=day or clock.school_today(),
        branch_ids=policy.visible_branches(who),
        viewer=who,
    )
    owned = reports.for_student(db, student.id, policy.visible_branches(who))
    family = contact_pages.section(db, who, student)  # None: not the caller's to see
    return page.render(
        "week.html", view=view, today=clock.school_today(), credits=owned, family=family
    )


@router.get("/sessions/new")
def session_new(request: Request, page: UserPage, who: StaffCaller, db: Db) -> Response:
    """Show the form that books a one-off lesson, filled in from the address (a cell of the
    day's grid), with the verdict the booking would get when the form is complete."""
    fields = forms.values(request.query_params.multi_items())
    verdict = None
    try:
        applied = periods.apply(db, fields)
    except InvalidInput:
        applied = fields  # booking it names the wrong period
    if {"branch_id", "teacher_id", "student_id", "date", "start_time", "end_time"} <= set(applied):
        try:
            verdict = _verdict(db, who, SessionCreate.model_validate(applied))
        except (ValidationError, KomawariError):
            verdict = None  # booking it says why, next to its field
    return _one_off_form(page, db, who, fields, verdict=verdict)


@dataclass(frozen=True)
class Verdict:
    """What a booking would be: CONFIRMED, or CONFLICTED with the lessons it would clash
    with (each as the read model shows it to the caller)."""

    status: SessionStatus
    clashes: list[read_model.Ref]


def _verdict(db: Db, who: Principal, wanted: SessionCreate) -> Verdict:
    """Book `wanted` in a savepoint, read its verdict, and undo it."""
    policy.require_write_in(who, wanted.branch_id)
    savepoint = db.begin_nested()
    try:
        made = sessions.create_one_off(db, session_in=wanted, actor=who.actor)
        both = read_model.clashes(db, [(made.id, list(made.conflicts_with))], viewer=who)
        return Verdict(made.status, both.conflicts_with.get(made.id, []))
    finally:
        savepoint.rollback()


def _one_off_form(
    page: Page, db: Db, who: Principal, fields: dict[str, Any], *, status: int = 200,
    errors: forms.Errors | None = None, duplicate: DuplicateSession | None = None,
    verdict: Verdict | None = None,
) -> Response:  # fmt: skip
    """The booking form; `duplicate` (a 409) names the lesson holding the slot only when
    the caller may read it (the read model's answer), else says it is another branch's;
    `verdict`: what booking it would do (a clash must be booked "anyway")."""
    return page.render(
        "session_new.html",
        status,
        fields=fields,
        errors=errors or {},
        duplicate=duplicate,
        existing=duplicate.existing_id if duplicate else None,
        verdict=verdict,
        choices=listing.choices(db, branch_ids=policy.visible_branches(who)),
    )


@router.get("/sessions/{session_id}")
def session_detail(row: ReadableSession, page: UserPage, who: Me, db: Db) -> Response:
    """Show a lesson, its clashes from both sides, and (staff) every action on it."""
    return _lesson_page(page, db, who, row)


def _lesson_page(
    page: Page, db: Db, who: Principal, row: ClassSession, *, status: int = 200,
    **shown: Any,
) -> Response:  # fmt: skip
    """The lesson page: the lesson, and for those who may change it the substitutes and
    rooms free for its time, the move form (with teacher and room), cancel or restore."""
    access = policy.session_access(who, branch_id=row.branch_id, teacher_id=row.teacher_id)
    may_write = access == policy.Access.WRITE
    live = row.status != SessionStatus.CANCELLED
    free, busy = availability.teachers(db, row, viewer=who) if may_write and live else ([], [])
    return page.render(
        "session_detail.html",
        status,
        view=lesson_views.session_view(db, row.id, who),
        done=page.request.query_params.get("done") if status == 200 else None,
        may_write=may_write,
        free_teachers=free,
        busy_teachers=busy,
        free_rooms=availability.rooms(db, row) if may_write and live else [],
        periods=[
            (p.id, f"{p.name} {p.start_time:%H:%M}-{p.end_time:%H:%M}")
            for p, _ in periods.of(db, [row.branch_id])
        ],
        roll=roll_pages.roll_of(db, who, row),
        **shown,
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
        status, errors = _refused(db, who, row, exc)
        return _lesson_page(page, db, who, row, status=status, errors=errors, reason=reason)
    return RedirectResponse(f"/sessions/{row.id}?done=cancel", status_code=303)


def _refused(db: Db, who: Principal, row: ClassSession, exc: Exception) -> tuple[int, forms.Errors]:
    """Roll back a refused change of a lesson; return its status and errors by field (a
    duplicate: 409, naming the lesson that holds the slot only when the caller may read it)."""
    forms.refused(db)
    db.refresh(row)
    if isinstance(exc, DuplicateSession):
        return 409, {"form": read_model.duplicate_answer(db, who, exc).words}
    return 422, forms.errors(exc)


@router.post("/sessions/{session_id}/note", dependencies=[CsrfChecked])
def session_note(
    row: WritableSession,
    page: UserPage,
    who: Me,
    db: Db,
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Write (or, empty, remove) the lesson's note."""
    try:
        wanted = SessionNote.model_validate({"note": note or None})
        sessions.set_note(db, row.id, note=wanted.note, actor=who.actor)
    except (ValidationError, InvalidInput) as exc:
        status, errors = _refused(db, who, row, exc)
        return _lesson_page(page, db, who, row, status=status, errors=errors)
    return RedirectResponse(f"/sessions/{row.id}?done=note", status_code=303)


@router.post("/sessions/{session_id}/restore", dependencies=[CsrfChecked])
def session_restore(
    row: WritableSession,
    page: UserPage,
    who: Me,
    db: Db,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Bring back a cancelled lesson; the page then shows its verdict and what it did."""
    try:
        wanted = SessionRestore.model_validate({"reason": reason or None})
        sessions.restore(db, row.id, actor=who.actor, reason=wanted.reason)
    except (ValidationError, InvalidInput, DuplicateSession) as exc:
        status, errors = _refused(db, who, row, exc)
        # One place on the form shows why, whichever field the refusal named.
        return _lesson_page(
            page, db, who, row, status=status, errors={"restore": errors.popitem()[1]}
        )
    return RedirectResponse(f"/sessions/{row.id}?done=restore", status_code=303)


@router.post("/sessions/{session_id}/move", dependencies=[CsrfChecked])
async def session_move(
    row: WritableSession, request: Request, page: UserPage, who: Me, db: Db
) -> Response:
    """Move a lesson (day, time, room), or give it a substitute; the page then shows
    what that did."""
    fields = forms.values((await request.form()).multi_items())
    try:
        moved = SessionMove.model_validate(periods.apply(db, fields, branch_id=row.branch_id))
        sessions.move(db, row.id, move_in=moved, actor=who.actor)
    except (ValidationError, InvalidInput, DuplicateSession) as exc:
        status, errors = _refused(db, who, row, exc)
        return _lesson_page(page, db, who, row, status=status, errors=errors, move=fields)
    done = "substitute" if set(fields) - {"reason"} == {"teacher_id"} else "move"
    return RedirectResponse(f"/sessions/{row.id}?done={done}", status_code=303)


@router.post("/sessions", dependencies=[CsrfChecked])
async def session_create(request: Request, page: UserPage, who: StaffCaller, db: Db) -> Response:
    """Book a one-off lesson; an exact duplicate is named, and a booking that would clash
    is not saved until it is confirmed ("book anyway")."""
    fields = forms.values((await request.form()).multi_items())
    anyway = fields.pop("book_anyway", None) == "1"
    try:
        wanted = SessionCreate.model_validate(periods.apply(db, fields))
        policy.require_write_in(who, wanted.branch_id)
        made = sessions.create_one_off(db, session_in=wanted, actor=who.actor)
    except DuplicateSession as exc:  # the database's guard is the authority
        forms.refused(db)
        shown = read_model.duplicate_answer(db, who, exc)
        return _one_off_form(page, db, who, fields, status=409, duplicate=shown)
    except (ValidationError, InvalidInput) as exc:
        forms.refused(db)
        return _one_off_form(page, db, who, fields, status=422, errors=forms.errors(exc))
    if made.status == SessionStatus.CONFLICTED and not anyway:
        both = read_model.clashes(db, [(made.id, list(made.conflicts_with))], viewer=who)
        clash = Verdict(made.status, both.conflicts_with.get(made.id, []))
        forms.refused(db)  # not saved: the form asks to book it anyway
        return _one_off_form(page, db, who, fields, status=409, verdict=clash)
    return RedirectResponse(f"/sessions/{made.id}?done=create", status_code=303)
