"""/api: a student's contacts (their family), a teacher's own contact, one contact."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from komawari.auth.dependencies import (
    FamilyStudent,
    NewStudentContact,
    ReadableContact,
    WritableContact,
    WritableTeacher,
)
from komawari.notices import contacts, line_link
from komawari.notices.contact_schemas import (
    ContactAdded,
    ContactRead,
    ContactUpdate,
    LineCodeRead,
    StudentContactRead,
    StudentContacts,
    TeacherContactIn,
)
from komawari.notices.models import Contact
from komawari.web.deps import Caller, Db, Id, refuse_idempotency_key
from komawari.web.routing import api_router

students = api_router("/students", "contacts")
contacts_router = api_router("/contacts", "contacts")
teachers = api_router("/teachers", "contacts")
routers: list[APIRouter] = [students, contacts_router, teachers]

OK_LINKED: dict[int | str, dict[str, Any]] = {
    200: {"model": ContactAdded, "description": "A contact already known was linked"}
}
OK_UPDATED: dict[int | str, dict[str, Any]] = {
    200: {"model": ContactRead, "description": "The teacher's contact was changed"}
}


def read(contact: Contact) -> ContactRead:
    """A contact as the API shows it (whether LINE is linked, not LINE's user ID)."""
    return ContactRead.model_validate(_fields(contact))


def _fields(contact: Contact) -> dict[str, object]:
    names = ContactRead.model_fields.keys() - {"line_linked"}
    return {n: getattr(contact, n) for n in names} | {
        "line_linked": contact.line_user_id is not None
    }


@students.get("/{student_id}/contacts", summary="List a student's contacts")
def list_student_contacts(student: FamilyStudent, db: Db) -> StudentContacts:
    """A student's contacts (family, or the student themself), by name."""
    items = [
        StudentContactRead.model_validate(_fields(x.contact) | {"relation": x.relation})
        for x in contacts.for_student(db, student.id)
    ]
    return StudentContacts(student_id=student.id, items=items)


@students.post(
    "/{student_id}/contacts",
    status_code=201,
    summary="Add a contact to a student",
    responses=OK_LINKED,
)
def add_student_contact(
    student: FamilyStudent, body: NewStudentContact, db: Db, who: Caller, response: Response
) -> ContactAdded:
    """Give the student a contact. A person already known (by `contact_id`, or by the same
    email in any case, or the same LINE account) is linked, not made twice: 201 when a
    contact was created, 200 when a known one was linked (`outcome`: `linked`, or
    `already` when it was the student's contact already; its relation is then the one
    given). The known contact keeps its own name, email and language."""
    added = contacts.add_to_student(db, student_id=student.id, contact_in=body, actor=who.actor)
    if added.outcome != "created":
        response.status_code = 200
    return ContactAdded.model_validate(
        _fields(added.contact) | {"relation": added.relation, "outcome": added.outcome}
    )


@students.delete(
    "/{student_id}/contacts/{contact_id}", status_code=204, summary="Take a contact off a student"
)
def unlink_student_contact(student: FamilyStudent, contact_id: Id, db: Db, who: Caller) -> Response:
    """Take the contact off the student (404 when it is not theirs). The contact stays: a
    sibling's contact still, or to be linked again."""
    contacts.unlink(db, student_id=student.id, contact_id=contact_id, actor=who.actor)
    return Response(status_code=204)


@contacts_router.get("/{contact_id}", summary="Get a contact")
def get_contact(contact: ReadableContact) -> ContactRead:
    """Return a contact (one of the caller's students', or a teacher's)."""
    return read(contact)


@contacts_router.patch("/{contact_id}", summary="Change a contact")
def update_contact(
    body: ContactUpdate, contact: WritableContact, db: Db, who: Caller
) -> ContactRead:
    """Change a contact's name, email, language, quiet hours (HH:MM, in the branch's zone;
    equal: none) or preferences: per kind of notice, the channels it goes by (`[]`: not
    sent; `null`: back to the standard, LINE when linked, else email). 409 when another
    contact has the email."""
    row = contacts.update(db, contact_id=contact.id, contact_in=body, actor=who.actor)
    return read(row)


@contacts_router.post(
    "/{contact_id}/line-code",
    status_code=201,
    summary="Make a LINE link code",
    dependencies=[Depends(refuse_idempotency_key)],
)
def new_line_code(contact: WritableContact, db: Db, who: Caller) -> LineCodeRead:
    """Make the contact's one-time code, to send to the school's LINE account; it ends the
    contact's unused codes. The answer holds the code: it refuses an Idempotency-Key."""
    code = line_link.new_code(db, contact_id=contact.id, actor=who.actor)
    return LineCodeRead.model_validate(code)


@teachers.put(
    "/{teacher_id}/contact",
    status_code=201,
    summary="Set a teacher's own contact",
    responses=OK_UPDATED,
)
def set_teacher_contact(
    body: TeacherContactIn, teacher: WritableTeacher, db: Db, who: Caller, response: Response
) -> ContactRead:
    """Set the teacher's own contact (one per teacher): 201 when it was made, 200 when
    changed. 409 when another contact has the email or the LINE account."""
    row, created = contacts.set_for_teacher(
        db, teacher_id=teacher.id, contact_in=body, actor=who.actor
    )
    if not created:
        response.status_code = 200
    return read(row)
