"""Pages: teachers, students and rooms: list, add, rename, deactivate.

A deactivated person or room can no longer be booked; their lessons stay. Deactivating is
refused while a series still names them (the page says which), as in the API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from komawari.auth import policy
from komawari.auth.dependencies import (
    AdminCaller,
    Me,
    StaffCaller,
    WritableRoom,
    WritableStudent,
    WritableTeacher,
)
from komawari.auth.policy import Principal
from komawari.branches.models import Branch
from komawari.errors import KomawariError
from komawari.people import queries as people_queries
from komawari.people import service as people
from komawari.people import status
from komawari.people.models import Room, Student, Teacher
from komawari.people.schemas import PersonCreate, Rename, RoomCreate
from komawari.web import forms
from komawari.web.deps import Db
from komawari.web.pages import CsrfChecked, Page, UserPage
from komawari.web.routing import page_router
from komawari.words import say

router = page_router()
PLURAL = {"teacher": "teachers", "student": "students", "room": "rooms"}


def _rows(db: Session, kind: status.Kind, who: Principal) -> list[Any]:
    if kind == "room":
        query = select(Room, Branch.name).join(Branch, Branch.id == Room.branch_id)
        visible = policy.visible_branches(who)
        if visible is not None:
            query = query.where(Room.branch_id.in_(visible))
        return list(db.execute(query.order_by(Branch.name, Room.name)).all())
    model = Teacher if kind == "teacher" else Student
    return [(row, None) for row in db.scalars(select(model).order_by(model.name))]


def _render(
    page: Page, db: Db, kind: status.Kind, who: Principal, *, status_code: int = 200,
    errors: forms.Errors | None = None, fields: dict[str, Any] | None = None,
) -> Response:  # fmt: skip
    branches = db.execute(select(Branch.id, Branch.name).order_by(Branch.name)).all()
    visible = policy.visible_branches(who)
    return page.render(
        "people.html",
        status_code,
        kind=kind,
        plural=PLURAL[kind],
        rows=_rows(db, kind, who),
        branches=[b for b in branches if visible is None or b[0] in visible],
        errors=errors or {},
        fields=fields or {},
        done=page.request.query_params.get("done"),
        may_deactivate_people=who.is_admin,
    )


def _list(kind: status.Kind) -> Any:
    def show(page: UserPage, who: StaffCaller, db: Db) -> Response:
        return _render(page, db, kind, who)

    show.__doc__ = f"List the {PLURAL[kind]}, with forms to add, rename and deactivate."
    return show


async def _add(kind: status.Kind, request: Request, page: Page, who: Principal, db: Db) -> Response:
    fields = forms.values((await request.form()).multi_items())
    try:
        if kind == "room":
            room = RoomCreate.model_validate(fields)
            policy.require_write_in(who, room.branch_id)
            people.create_room(db, branch_id=room.branch_id, name=room.name,
                               capacity=room.capacity, actor=who.actor)  # fmt: skip
        else:
            person = PersonCreate.model_validate(fields)
            make = people.create_teacher if kind == "teacher" else people.create_student
            make(db, name=person.name, actor=who.actor)
    except ValidationError as exc:
        forms.refused(db)
        return _render(page, db, kind, who, status_code=422, errors=forms.errors(exc),
                       fields=fields)  # fmt: skip
    except KomawariError as exc:
        forms.refused(db)
        return _render(page, db, kind, who, status_code=exc.status_code,
                       errors={"name": exc.words}, fields=fields)  # fmt: skip
    return RedirectResponse(f"/{PLURAL[kind]}?done=added", status_code=303)


async def _rename(
    kind: status.Kind, row_id: int, request: Request, page: Page, who: Principal, db: Db
) -> Response:
    fields = forms.values((await request.form()).multi_items())
    try:
        wanted = Rename.model_validate(fields)
        status.rename(db, kind, row_id, name=wanted.name, actor=who.actor)
    except (ValidationError, KomawariError) as exc:
        forms.refused(db)
        detail = forms.errors(exc).get("name") if isinstance(exc, ValidationError) else exc.words
        code = 422 if isinstance(exc, ValidationError) else exc.status_code
        detail = detail or say("name.not-valid", "not a name")
        return _render(page, db, kind, who, status_code=code,
                       errors={f"rename-{row_id}": detail})  # fmt: skip
    return RedirectResponse(f"/{PLURAL[kind]}?done=renamed", status_code=303)


def _deactivate(kind: status.Kind, row_id: int, page: Page, who: Principal, db: Db) -> Response:
    try:
        status.deactivate(db, kind, row_id, actor=who.actor)
    except KomawariError as exc:
        forms.refused(db)
        return _render(page, db, kind, who, status_code=exc.status_code,
                       errors={f"deactivate-{row_id}": exc.words})  # fmt: skip
    return RedirectResponse(f"/{PLURAL[kind]}?done=deactivated", status_code=303)


router.get("/teachers")(_list("teacher"))
router.get("/students")(_list("student"))
router.get("/rooms")(_list("room"))


@router.post("/teachers", dependencies=[CsrfChecked])
async def add_teacher(request: Request, page: UserPage, who: StaffCaller, db: Db) -> Response:
    """Add a teacher."""
    return await _add("teacher", request, page, who, db)


@router.post("/students", dependencies=[CsrfChecked])
async def add_student(request: Request, page: UserPage, who: StaffCaller, db: Db) -> Response:
    """Add a student."""
    return await _add("student", request, page, who, db)


@router.post("/rooms", dependencies=[CsrfChecked])
async def add_room(request: Request, page: UserPage, who: StaffCaller, db: Db) -> Response:
    """Add a room at one of the caller's branches."""
    return await _add("room", request, page, who, db)


@router.post("/teachers/{teacher_id}/rename", dependencies=[CsrfChecked])
async def rename_teacher(
    row: WritableTeacher, request: Request, page: UserPage, who: Me, db: Db
) -> Response:
    """Give a teacher a new name."""
    return await _rename("teacher", row.id, request, page, who, db)


@router.post("/students/{student_id}/rename", dependencies=[CsrfChecked])
async def rename_student(
    row: WritableStudent, request: Request, page: UserPage, who: Me, db: Db
) -> Response:
    """Give a student a new name."""
    return await _rename("student", row.id, request, page, who, db)


@router.post("/rooms/{room_id}/rename", dependencies=[CsrfChecked])
async def rename_room(
    row: WritableRoom, request: Request, page: UserPage, who: Me, db: Db
) -> Response:
    """Give a room a new name."""
    return await _rename("room", row.id, request, page, who, db)


@router.post("/teachers/{teacher_id}/deactivate", dependencies=[CsrfChecked])
def deactivate_teacher(row: WritableTeacher, page: UserPage, who: AdminCaller, db: Db) -> Response:
    """Deactivate a teacher (admins: it changes what every branch may book)."""
    return _deactivate("teacher", row.id, page, who, db)


@router.post("/students/{student_id}/deactivate", dependencies=[CsrfChecked])
def deactivate_student(row: WritableStudent, page: UserPage, who: AdminCaller, db: Db) -> Response:
    """Deactivate a student (admins)."""
    return _deactivate("student", row.id, page, who, db)


@router.post("/rooms/{room_id}/deactivate", dependencies=[CsrfChecked])
def deactivate_room(row: WritableRoom, page: UserPage, who: Me, db: Db) -> Response:
    """Deactivate a room of one of the caller's branches."""
    return _deactivate("room", row.id, page, who, db)


@router.get("/search")
def search(
    page: UserPage,
    who: StaffCaller,
    db: Db,
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """Find a teacher, student or room by name, leading to their week (a room: its
    branch's day by room)."""
    found = (
        people_queries.find(db, q, branch_ids=policy.visible_branches(who)) if q.strip() else None
    )
    return page.render("search.html", q=q, found=found)
