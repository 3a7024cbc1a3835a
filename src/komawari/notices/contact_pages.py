"""Pages: a student's contacts (on their week, and a page of their own with the add form)
and a contact's page: name, email, language, what they hear by which channel, quiet
hours, and linking LINE with a one-time code and the school's friend link as a QR code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import segno
from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from komawari.auth import policy
from komawari.auth.dependencies import FamilyStudent, Me, ReadableContact, WritableContact
from komawari.auth.policy import Principal
from komawari.config import get_settings
from komawari.errors import KomawariError
from komawari.notices import contacts, line_link, plan
from komawari.notices.contact_schemas import ContactCreate, ContactUpdate
from komawari.notices.enums import Channel, NoticeKind
from komawari.notices.models import Contact
from komawari.people.models import Student
from komawari.web import forms
from komawari.web.deps import Db, Id
from komawari.web.pages import CsrfChecked, Page, UserPage
from komawari.web.routing import page_router

router = page_router()
DONE = frozenset({"created", "linked", "already", "removed", "saved", "code", "line-unlinked"})


@dataclass
class Family:
    """A student's contacts as the section shows them, with its add form's state."""

    student: Student
    contacts: list[contacts.Linked]
    fields: dict[str, Any] = field(default_factory=dict)
    errors: forms.Errors = field(default_factory=dict)


def section(db: Db, who: Principal, student: Student) -> Family | None:
    """The student's contacts for their week, if the caller may see them (else None)."""
    branches = contacts.student_branches(db, [student.id])[student.id]
    if policy.family_access(who, branches) == policy.Access.NONE:
        return None
    return Family(student, contacts.for_student(db, student.id))


def _done(page: Page, status: int) -> str | None:
    done = page.request.query_params.get("done")
    return done if status == 200 and done in DONE else None


def _family_page(
    page: Page, db: Db, student: Student, *, status: int = 200,
    fields: dict[str, Any] | None = None, errors: forms.Errors | None = None,
) -> Response:  # fmt: skip
    family = Family(student, contacts.for_student(db, student.id), fields or {}, errors or {})
    return page.render("student_contacts.html", status, family=family, done=_done(page, status))


@router.get("/students/{student_id}/contacts")
def student_contacts(student: FamilyStudent, page: UserPage, db: Db) -> Response:
    """A student's contacts, with the form that adds one."""
    return _family_page(page, db, student)


@router.post("/students/{student_id}/contacts", dependencies=[CsrfChecked])
async def add_contact(
    student: FamilyStudent, request: Request, page: UserPage, who: Me, db: Db
) -> Response:
    """Add a contact to the student (a person already known is linked, not made twice)."""
    fields = forms.values((await request.form()).multi_items())
    body = {k: fields[k] for k in ("name", "relation", "email", "language") if k in fields}
    try:
        wanted = ContactCreate.model_validate(body)
        added = contacts.add_to_student(db, student_id=student.id, contact_in=wanted,
                                        actor=who.actor)  # fmt: skip
    except (ValidationError, KomawariError) as exc:
        forms.refused(db)
        code = exc.status_code if isinstance(exc, KomawariError) else 422
        return _family_page(page, db, student, status=code, fields=fields,
                            errors=forms.errors(exc))  # fmt: skip
    return RedirectResponse(
        f"/students/{student.id}/contacts?done={added.outcome}", status_code=303
    )


@router.post("/students/{student_id}/contacts/{contact_id}/remove", dependencies=[CsrfChecked])
def remove_contact(
    student: FamilyStudent, contact_id: Id, page: UserPage, who: Me, db: Db
) -> Response:
    """Take a contact off the student (the contact stays, for a sibling or later)."""
    contacts.unlink(db, student_id=student.id, contact_id=contact_id, actor=who.actor)
    return RedirectResponse(f"/students/{student.id}/contacts?done=removed", status_code=303)


# A contact's page.


def ticked(contact: Contact) -> dict[str, list[str]]:
    """Per kind, the channels the form shows ticked: the contact's choice, else the
    standard (what the outbox does for a kind not chosen)."""
    shown = {}
    for kind in NoticeKind:
        chosen = contact.preferences.get(kind.value)
        if chosen is None:
            standard = plan.channels(kind, {}, email=contact.email, line_user=contact.line_user_id)
            chosen = [c.value for c in standard]
        shown[kind.value] = list(chosen)
    return shown


def _preferences(contact: Contact, form: list[tuple[str, Any]]) -> dict[str, list[str]]:
    """The preferences a form asks for: every kind it changes, and every kind chosen
    before; a kind left as the standard stays unchosen (it follows the contact's LINE)."""
    shown = ticked(contact)
    wanted: dict[str, list[str]] = {}
    for kind in NoticeKind:
        sent = sorted({str(v) for k, v in form if k == f"pref-{kind.value}"})
        if kind.value in contact.preferences or sent != sorted(shown[kind.value]):
            wanted[kind.value] = sent
    return wanted


def _contact_page(
    page: Page, db: Db, who: Principal, contact: Contact, *, status: int = 200,
    fields: dict[str, Any] | None = None, errors: forms.Errors | None = None,
) -> Response:  # fmt: skip
    owners = contacts.owners(db, contact)
    access = policy.contact_access(
        who, student_branch_ids=owners.student_branch_ids, teacher_id=owners.teacher_id
    )
    friend = line_link.friend_url()
    qr = segno.make(friend, error="m").svg_inline(scale=4, border=2) if friend else None
    return page.render(
        "contact.html",
        status,
        contact=contact,
        students=contacts.students_of(db, contact.id),
        may_write=access >= policy.Access.WRITE,
        kinds=[k.value for k in NoticeKind],
        channels=[c.value for c in Channel],
        ticked=ticked(contact),
        code=line_link.live_code(db, contact.id) if contact.line_user_id is None else None,
        friend_url=friend,
        zone=get_settings().default_timezone,
        qr=qr,
        fields=fields or {},
        errors=errors or {},
        done=_done(page, status),
    )


@router.get("/contacts/{contact_id}")
def contact_page(contact: ReadableContact, page: UserPage, who: Me, db: Db) -> Response:
    """A contact: who they are, what they hear by which channel, and their LINE link."""
    return _contact_page(page, db, who, contact)


@router.post("/contacts/{contact_id}", dependencies=[CsrfChecked])
async def save_contact(
    contact: WritableContact, request: Request, page: UserPage, who: Me, db: Db
) -> Response:
    """Save the contact's details, preferences and quiet hours."""
    form = (await request.form()).multi_items()
    fields = forms.values((k, v) for k, v in form if not k.startswith("pref-"))
    body: dict[str, Any] = {
        "name": fields.get("name", ""),
        "email": fields.get("email"),
        "language": fields.get("language"),
        "quiet_start": fields.get("quiet_start"),
        "quiet_end": fields.get("quiet_end"),
        "preferences": _preferences(contact, form),
    }
    try:
        wanted = ContactUpdate.model_validate(body)
        contacts.update(db, contact_id=contact.id, contact_in=wanted, actor=who.actor)
    except (ValidationError, KomawariError) as exc:
        forms.refused(db)
        code = exc.status_code if isinstance(exc, KomawariError) else 422
        pref = {k.value: [v for f, v in form if f == f"pref-{k.value}"] for k in NoticeKind}
        shown = fields | {"pref": pref}
        return _contact_page(page, db, who, contact, status=code, fields=shown,
                             errors=forms.errors(exc))  # fmt: skip
    return RedirectResponse(f"/contacts/{contact.id}?done=saved", status_code=303)


@router.post("/contacts/{contact_id}/line-code", dependencies=[CsrfChecked])
def make_line_code(contact: WritableContact, page: UserPage, who: Me, db: Db) -> Response:
    """Make a new one-time code for linking the contact's LINE (the old one ends)."""
    line_link.new_code(db, contact_id=contact.id, actor=who.actor)
    return RedirectResponse(f"/contacts/{contact.id}?done=code#line", status_code=303)


@router.post("/contacts/{contact_id}/line-unlink", dependencies=[CsrfChecked])
def unlink_line(contact: WritableContact, page: UserPage, who: Me, db: Db) -> Response:
    """Take the contact's LINE account off it: notices go by email from now on."""
    line_link.unlink(db, contact=contact, actor=who.actor)
    return RedirectResponse(f"/contacts/{contact.id}?done=line-unlinked#line", status_code=303)
