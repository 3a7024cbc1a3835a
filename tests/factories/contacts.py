"""Contacts as test rows: a guardian of some students, a teacher's own contact."""

from __future__ import annotations

from datetime import time

from sqlalchemy.orm import Session

from komawari.notices.enums import Relation
from komawari.notices.models import Contact, ContactStudent
from tests.factories.names import unique

# Quiet hours that never are: a test about something else is not held by the clock.
NEVER = {"quiet_start": time(0, 0), "quiet_end": time(0, 0)}


def guardian(
    db: Session,
    *student_ids: int,
    name: str | None = None,
    email: str | None = "",
    line_user_id: str | None = None,
    language: str = "ja",
    relation: Relation = Relation.MOTHER,
    **fields: object,
) -> Contact:
    """Add a contact of `student_ids` (an email of its own unless given; None: no email)."""
    n = unique()
    row = Contact(
        name=name or f"Guardian {n}",
        email=f"guardian{n}@example.jp" if email == "" else email,
        line_user_id=line_user_id,
        language=language,
        **{**NEVER, **fields},
    )
    db.add(row)
    db.flush()
    for student_id in student_ids:
        db.add(ContactStudent(contact_id=row.id, student_id=student_id, relation=relation))
    db.flush()
    return row


def teacher_contact(
    db: Session, teacher_id: int, *, email: str | None = "", **fields: object
) -> Contact:
    """Add a teacher's own contact."""
    n = unique()
    row = Contact(
        name=f"Teacher {n}",
        email=f"teacher{n}@example.jp" if email == "" else email,
        teacher_id=teacher_id,
        **{**NEVER, **fields},
    )
    db.add(row)
    db.flush()
    return row
