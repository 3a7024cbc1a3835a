"""Pages: the make-up (振替) slot finder, where staff book a make-up lesson with a credit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.responses import Response

from komawari.attendance import slots
from komawari.auth.dependencies import OwnBranchIds, ReadableStudent, StaffCaller
from komawari.errors import InvalidInput
from komawari.sessions import read_model
from komawari.web import forms
from komawari.web.deps import Db
from komawari.web.pages import UserPage
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
    each has a Book button (the one-off booking form's POST, with the credit's id)."""
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
        422 if errors else 200,
        student=student,
        found=found,
        absence=absence,
        usable=found.usable,
        weeks=numbers.get("weeks", 4),
        errors=errors,
        weeks_choices=range(1, slots.MAX_WEEKS + 1),
    )
