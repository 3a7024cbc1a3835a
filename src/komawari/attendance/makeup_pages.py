"""Pages: the make-up (振替) slot finder, where staff book a make-up lesson with a credit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from komawari.attendance import group_makeup, slots
from komawari.auth import policy
from komawari.auth.dependencies import OwnBranchIds, ReadableStudent, StaffCaller
from komawari.errors import InvalidInput, KomawariError
from komawari.sessions import read_model
from komawari.sessions import service as sessions
from komawari.sessions.models import ClassSession
from komawari.web import forms
from komawari.web.deps import Db
from komawari.web.pages import CsrfChecked, UserPage
from komawari.web.routing import page_router
from komawari.words import say

router = page_router()


@router.get("/students/{student_id}/makeup")
def makeup_slots(
    student: ReadableStudent,
    page: UserPage,
    who: StaffCaller,
    db: Db,
    branches: OwnBranchIds,
    credit: Annotated[str | None, Query(max_length=20)] = None,
    weeks: Annotated[str | None, Query(max_length=4)] = None,
) -> Response:
    """List the ranked times to book a make-up lesson for one of the student's credits;
    each has a Book button (the one-off booking form's POST, with the credit's id), or for
    a missed group lesson a Join button (another group lesson with a seat left)."""
    return _slots_page(page, who, db, student, branches, credit, weeks, {})


def _slots_page(
    page: UserPage,
    who: StaffCaller,
    db: Db,
    student: ReadableStudent,
    branches: OwnBranchIds,
    credit: str | None,
    weeks: str | None,
    refused: forms.Errors,
) -> Response:
    errors: forms.Errors = {}
    found = slots.Found(None, None, [])
    numbers = {}
    for name, raw in (("credit", credit), ("weeks", weeks or "4")):
        if raw and not raw.strip().isdigit():
            errors[name] = say("value.not-a-number", "enter a whole number")
        elif raw:
            numbers[name] = int(raw)
    if not errors:
        try:
            found = slots.find(
                db,
                student.id,
                weeks=numbers["weeks"],
                credit_id=numbers.get("credit"),
                branch_ids=branches,
                limit=40,
            )
        except InvalidInput as exc:
            errors = {"credit" if exc.field == "credit_id" else exc.field: exc.said or exc.detail}
    absence = (
        read_model.lessons(db, [found.absence.id], viewer=who).get(found.absence.id)
        if found.absence
        else None
    )
    return page.render(
        "makeup.html",
        422 if errors or refused else 200,
        student=student,
        found=found,
        absence=absence,
        usable=found.usable,
        weeks=numbers.get("weeks", 4),
        errors=errors,
        refused=refused,
        titles=_titles(db, [s.session_id for s in found.slots if s.session_id]),
        weeks_choices=range(1, slots.MAX_WEEKS + 1),
    )


@router.post("/students/{student_id}/makeup/join", dependencies=[CsrfChecked])
def join_group_lesson(
    student: ReadableStudent,
    page: UserPage,
    who: StaffCaller,
    db: Db,
    branches: OwnBranchIds,
    session_id: Annotated[int, Form(gt=0)],
    credit_id: Annotated[int, Form(gt=0)],
) -> Response:
    """Add the student to a group lesson as a make-up, with the credit; a refusal shows the
    slots again with why."""
    try:
        policy.require_write_in(who, sessions.get(db, session_id).branch_id)
        group_makeup.join(
            db, session_id, student_id=student.id, credit_id=credit_id, actor=who.actor
        )
    except KomawariError as exc:
        forms.refused(db)
        # The slots of that credit again, or (used or ended now) of the student's next.
        still = any(c.id == credit_id for c in slots.usable(db, student.id, branches))
        shown = str(credit_id) if still else None
        return _slots_page(page, who, db, student, branches, shown, None, {"join": exc.words})
    return RedirectResponse(f"/sessions/{session_id}?done=makeup-join", status_code=303)


def _titles(db: Db, ids: list[int]) -> dict[int, str]:
    """The group lessons' titles, by id."""
    if not ids:
        return {}
    rows = db.execute(select(ClassSession.id, ClassSession.title).where(ClassSession.id.in_(ids)))
    return {i: t or "" for i, t in rows}
