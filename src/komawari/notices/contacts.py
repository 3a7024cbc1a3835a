"""Contacts: the people who hear about lessons, a student's family or a teacher.

A guardian of several children is one contact linked to each child (`contact_students`):
adding a contact whose email (whatever its case) or LINE account is already a contact's
links that contact instead of making a second, and an email is taken by one contact
only. Who may see a student's contacts is `policy.family_access`, from the branches of
the student's lessons (`student_branches`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, text, union
from sqlalchemy.orm import Session

from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.db.errors import guarded
from komawari.errors import Conflict, NotFound
from komawari.notices.contact_schemas import ContactCreate, ContactUpdate, TeacherContactIn
from komawari.notices.enums import Relation
from komawari.notices.models import LINE_USER_GUARD, Contact, ContactStudent
from komawari.people.models import Student
from komawari.series.models import ClassSeries, SeriesEnrolment
from komawari.sessions.models import ClassSession, SessionAttendee
from komawari.words import Say, say

SUBJECT = "contact"


@dataclass(frozen=True)
class Linked:
    """A contact of a student, and who they are to the student."""

    contact: Contact
    relation: Relation


@dataclass(frozen=True)
class Added(Linked):
    """What adding a contact to a student did: created, linked (known) or already linked."""

    outcome: str


@dataclass(frozen=True)
class Owners:
    """Whose a contact is, as the policy reads it: its students' branches, its teacher."""

    student_branch_ids: tuple[frozenset[int], ...]
    teacher_id: int | None


def not_found(contact_id: int) -> Say:
    """The answer for a contact that does not exist, or that the caller may not see."""
    return say("contact.not-found", "there is no contact number %(id)s", id=contact_id)


def get(db: Session, contact_id: int) -> Contact:
    """Return the contact, or raise NotFound."""
    row = db.get(Contact, contact_id)
    if row is None:
        raise NotFound(not_found(contact_id))
    return row


# Reading: what the outbox and the pages ask.


def for_students(db: Session, student_ids: Collection[int]) -> dict[int, list[Linked]]:
    """Return each student's contacts (active or not), by name."""
    found: dict[int, list[Linked]] = {s: [] for s in student_ids}
    rows = db.execute(
        select(ContactStudent.student_id, ContactStudent.relation, Contact)
        .join(Contact, Contact.id == ContactStudent.contact_id)
        .where(ContactStudent.student_id.in_(list(student_ids)))
        .order_by(Contact.name, Contact.id)
    )
    for student_id, relation, contact in rows:
        found[student_id].append(Linked(contact, relation))
    return found


def for_student(db: Session, student_id: int) -> list[Linked]:
    """Return a student's contacts (active or not), by name."""
    return for_students(db, [student_id])[student_id]


def for_teacher(db: Session, teacher_id: int) -> Contact | None:
    """Return a teacher's own contact, if they have one."""
    return db.scalars(select(Contact).where(Contact.teacher_id == teacher_id)).first()


def students_of(db: Session, contact_id: int) -> list[tuple[Student, Relation]]:
    """Return the students a contact is linked to, with the relation, by name."""
    rows = db.execute(
        select(Student, ContactStudent.relation)
        .join(ContactStudent, ContactStudent.student_id == Student.id)
        .where(ContactStudent.contact_id == contact_id)
        .order_by(Student.name, Student.id)
    )
    return [(s, r) for s, r in rows]


def student_branches(db: Session, student_ids: Collection[int]) -> dict[int, frozenset[int]]:
    """Return the branches where each student has (or had) lessons or series."""
    ids = list(student_ids)
    lessons = ClassSession.__table__
    rows = db.execute(
        union(
            select(lessons.c.student_id, lessons.c.branch_id).where(lessons.c.student_id.in_(ids)),
            select(SessionAttendee.student_id, lessons.c.branch_id)
            .join(lessons, lessons.c.id == SessionAttendee.session_id)
            .where(SessionAttendee.student_id.in_(ids)),
            select(ClassSeries.student_id, ClassSeries.branch_id).where(
                ClassSeries.student_id.in_(ids)
            ),
            select(SeriesEnrolment.student_id, ClassSeries.branch_id)
            .join(ClassSeries, ClassSeries.id == SeriesEnrolment.series_id)
            .where(SeriesEnrolment.student_id.in_(ids)),
        )
    )
    found: dict[int, set[int]] = {s: set() for s in ids}
    for student_id, branch_id in rows:
        found[student_id].add(branch_id)
    return {s: frozenset(b) for s, b in found.items()}


def owners(db: Session, contact: Contact) -> Owners:
    """Return whose the contact is: its students' branches and its teacher."""
    students = [s.id for s, _ in students_of(db, contact.id)]
    branches = student_branches(db, students)
    return Owners(tuple(branches[s] for s in students), contact.teacher_id)


# Changing.


def _lock_email(db: Session, email: str | None) -> None:
    """Take the transaction's lock on an address, so that two requests giving the same
    new address make one contact, not two (no guard holds emails unique)."""
    if email:
        db.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"contact email {email.lower()}"},
        )


def _known(db: Session, *, email: str | None, line_user_id: str | None) -> list[Contact]:
    """Return the contacts with this email (any case) or this LINE account."""
    found = []
    if email:
        found.append(func.lower(Contact.email) == func.lower(email))
    if line_user_id:
        found.append(Contact.line_user_id == line_user_id)
    if not found:
        return []
    return list(db.scalars(select(Contact).where(or_(*found)).order_by(Contact.id)))


def _taken(db: Session, contact_id: int | None, *, email: str | None, line: str | None) -> None:
    """Raise Conflict when another contact has this email or LINE account."""
    for other in _known(db, email=email, line_user_id=line):
        if other.id == contact_id:
            continue
        if email and (other.email or "").lower() == email.lower():
            said = say(
                "contact.email-taken",
                "contact %(id)s (%(name)s) already has this email address; link that contact"
                " instead",
                id=other.id,
                name=other.name,
            )
        else:
            said = say(
                "contact.line-taken-by",
                "contact %(id)s (%(name)s) already has this LINE account",
                id=other.id,
                name=other.name,
            )
        raise Conflict(said, existing_contact_id=other.id)


class LineTaken(Conflict):
    """The LINE account is another contact's (the guard's refusal, even in a race)."""


def line_taken() -> LineTaken:
    """The refusal of a LINE account that another contact has."""
    return LineTaken(say("contact.line-taken", "this LINE account is already another contact's"))


def _audit(db: Session, actor: Actor, action: str, contact_id: int, **details: Any) -> None:
    audit.record(
        db, actor=actor, action=action, subject_type=SUBJECT, subject_id=contact_id,
        details=details,
    )  # fmt: skip


def add_to_student(
    db: Session, *, student_id: int, contact_in: ContactCreate, actor: Actor
) -> Added:
    """Give a student a contact: the one named by id, else the one with the same email or
    LINE account, else a new one. Linked already: its relation is set to the one given."""
    if contact_in.contact_id is not None:
        contact: Contact | None = get(db, contact_in.contact_id)
    else:
        _lock_email(db, contact_in.email)
        known = _known(db, email=contact_in.email, line_user_id=contact_in.line_user_id)
        if len(known) > 1:
            raise Conflict(
                say(
                    "contact.two-people",
                    "the email is contact %(first)s's and the LINE account contact"
                    " %(second)s's; give one of them",
                    first=known[0].id,
                    second=known[1].id,
                )
            )
        contact = known[0] if known else None
    if contact is None:
        assert contact_in.name is not None  # the schema asks for it without contact_id
        made = Contact(
            name=contact_in.name.strip(), email=contact_in.email,
            line_user_id=contact_in.line_user_id, language=contact_in.language,
        )  # fmt: skip
        guarded(db, lambda: db.add(made), line_taken, LINE_USER_GUARD)
        db.add(ContactStudent(contact_id=made.id, student_id=student_id,
                              relation=contact_in.relation))  # fmt: skip
        db.flush()
        _audit(db, actor, "contact.add", made.id, student_id=student_id,
                relation=contact_in.relation.value)  # fmt: skip
        return Added(made, contact_in.relation, "created")
    link = db.get(ContactStudent, (contact.id, student_id), with_for_update=True)
    if link is None:
        db.add(ContactStudent(contact_id=contact.id, student_id=student_id,
                              relation=contact_in.relation))  # fmt: skip
        db.flush()
        _audit(db, actor, "contact.link", contact.id, student_id=student_id,
                relation=contact_in.relation.value)  # fmt: skip
        return Added(contact, contact_in.relation, "linked")
    if link.relation != contact_in.relation:
        _audit(db, actor, "contact.link", contact.id, student_id=student_id,
                relation=contact_in.relation.value, was=link.relation.value)  # fmt: skip
        link.relation = contact_in.relation
        db.flush()
    return Added(contact, contact_in.relation, "already")


def update(db: Session, *, contact_id: int, contact_in: ContactUpdate, actor: Actor) -> Contact:
    """Change a contact's name, email, language, preferences (per kind) or quiet hours."""
    contact = db.get(Contact, contact_id, with_for_update=True)
    if contact is None:
        raise NotFound(not_found(contact_id))
    given = contact_in.model_fields_set
    changed: list[str] = []
    if "email" in given and (contact_in.email or "") != (contact.email or ""):
        _lock_email(db, contact_in.email)
        _taken(db, contact.id, email=contact_in.email, line=None)
        contact.email = contact_in.email
        changed.append("email")
    if contact_in.name is not None and contact_in.name.strip() != contact.name:
        contact.name = contact_in.name.strip()
        changed.append("name")
    for name in ("language", "quiet_start", "quiet_end"):
        value = getattr(contact_in, name)
        if value is not None and value != getattr(contact, name):
            setattr(contact, name, value)
            changed.append(name)
    if contact_in.preferences:
        merged = dict(contact.preferences)
        for kind, chosen in contact_in.preferences.items():
            if chosen is None:
                merged.pop(kind.value, None)
            else:
                merged[kind.value] = sorted({c.value for c in chosen})
        if merged != contact.preferences:
            contact.preferences = merged  # a new dict: JSONB changes are seen by assignment
            changed.append("preferences")
    if changed:
        db.flush()
        _audit(db, actor, "contact.update", contact.id, changed=changed)
    return contact


def unlink(db: Session, *, student_id: int, contact_id: int, actor: Actor) -> None:
    """Take a contact off a student; the contact stays (another child's, or to link again)."""
    link = db.get(ContactStudent, (contact_id, student_id), with_for_update=True)
    if link is None:
        raise NotFound(
            say(
                "contact.not-linked",
                "contact %(id)s is not a contact of student %(student)s",
                id=contact_id,
                student=student_id,
            )
        )
    db.delete(link)
    db.flush()
    _audit(db, actor, "contact.unlink", contact_id, student_id=student_id)


def set_for_teacher(
    db: Session, *, teacher_id: int, contact_in: TeacherContactIn, actor: Actor
) -> tuple[Contact, bool]:
    """Set a teacher's own contact: name, email and language as given, the LINE account
    when given (null: unlinked); return it and whether it was created."""
    contact = db.scalars(
        select(Contact).where(Contact.teacher_id == teacher_id).with_for_update()
    ).first()
    _lock_email(db, contact_in.email)
    _taken(db, contact.id if contact else None, email=contact_in.email,
           line=contact_in.line_user_id)  # fmt: skip
    fields = {
        "name": contact_in.name.strip(), "email": contact_in.email,
        "language": contact_in.language,
    }  # fmt: skip
    if "line_user_id" in contact_in.model_fields_set:  # else a link made by a code stays
        fields["line_user_id"] = contact_in.line_user_id
    if contact is None:
        made = Contact(teacher_id=teacher_id, **fields)
        guarded(db, lambda: db.add(made), line_taken, LINE_USER_GUARD)
        _audit(db, actor, "contact.add", made.id, teacher_id=teacher_id)
        return made, True
    row = contact
    changed = [k for k, v in fields.items() if getattr(row, k) != v]
    if changed:

        def change() -> None:
            for name in changed:
                setattr(row, name, fields[name])

        guarded(db, change, line_taken, LINE_USER_GUARD)
        _audit(db, actor, "contact.update", row.id, teacher_id=teacher_id, changed=changed)
    return row, False
