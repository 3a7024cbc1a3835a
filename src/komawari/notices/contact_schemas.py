"""Contacts over the API and the pages' forms: a student's family, a teacher's own."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from komawari.notices.enums import Channel, NoticeKind, Relation
from komawari.scheduling.fields import Name, field_error
from komawari.series.schemas import Clock
from komawari.words import InvalidValue, say

MAX_ID = 2**63 - 1
Language = Literal["en", "ja"]
Outcome = Literal["created", "linked", "already"]

# An address a notice can reach: something, an @, and a domain with a dot; no spaces or
# control characters anywhere.
_PART = r"[^@\s\x00-\x1f\x7f-\x9f]+"
_EMAIL = re.compile(rf"{_PART}@{_PART}\.{_PART}")
# LINE's user ID of a person, as its webhook names the sender: U and 32 hex digits.
_LINE_USER = re.compile(r"U[0-9a-f]{32}")


def _email(value: str) -> str:
    value = value.strip()
    if not _EMAIL.fullmatch(value):
        raise InvalidValue(
            say("email.not-valid", "enter an email address such as name@example.com")
        )
    return value


def _line_user(value: str) -> str:
    if not _LINE_USER.fullmatch(value):
        raise InvalidValue(
            say("line.not-a-user-id", "a LINE user ID is U followed by 32 hexadecimal digits")
        )
    return value


Email = Annotated[str, Field(max_length=320), AfterValidator(_email)]
LineUserId = Annotated[str, Field(max_length=64), AfterValidator(_line_user)]
# Per kind of notice, the channels it goes by ([]: not sent; null: back to the standard,
# LINE when the contact has it, else email).
Preferences = dict[NoticeKind, list[Channel] | None]
DETAILS = ("name", "email", "line_user_id", "language")


class ContactCreate(BaseModel):
    """A contact of a student: a new person, or one already known (`contact_id`, or the
    same email, whatever its case, or the same LINE account), linked to the student."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "Tanaka Yoko", "relation": "mother", "email": "yoko@example.com"},
                {"contact_id": 4, "relation": "father"},
            ]
        },
    )

    relation: Relation
    name: Name | None = None
    email: Email | None = None
    line_user_id: LineUserId | None = None
    language: Language = "ja"
    contact_id: int | None = Field(default=None, gt=0, le=MAX_ID)

    @model_validator(mode="after")
    def _who(self) -> ContactCreate:
        if self.contact_id is not None:
            given = [f for f in DETAILS if f in self.model_fields_set]
            if given:
                message = say(
                    "contact.id-or-details",
                    "give either contact_id or the person's details, not both",
                )
                raise field_error(given[0], message, getattr(self, given[0]))
        elif self.name is None:
            raise field_error("name", say("value.missing", "this is required"), None)
        return self


class ContactUpdate(BaseModel):
    """Changes to a contact; a field left out stays as it is (`email: null` removes it).
    Preferences change per kind: the kinds named are set, the others kept."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "language": "en",
                    "preferences": {"reminder": [], "cancel": ["line", "email"]},
                    "quiet_start": "22:00",
                    "quiet_end": "07:30",
                }
            ]
        },
    )

    name: Name | None = None
    email: Email | None = None
    language: Language | None = None
    preferences: Preferences | None = Field(default=None, max_length=len(NoticeKind))
    quiet_start: Clock | None = None
    quiet_end: Clock | None = None

    @model_validator(mode="after")
    def _not_null(self) -> ContactUpdate:
        for name in ("name", "language", "quiet_start", "quiet_end"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise field_error(name, say("value.missing", "this is required"), None)
        return self


class TeacherContactIn(BaseModel):
    """A teacher's own contact (one per teacher): these fields replace the stored ones."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Sato Sensei", "email": "sato@example.com"}]},
    )

    name: Name
    email: Email | None = None
    line_user_id: LineUserId | None = None
    language: Language = "ja"


class ContactRead(BaseModel):
    """A contact; `line_linked` says whether LINE messages can reach them."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str | None
    language: Language
    line_linked: bool
    teacher_id: int | None
    preferences: dict[str, list[Channel]]
    quiet_start: Clock
    quiet_end: Clock
    active: bool
    created_at: datetime


class StudentContactRead(ContactRead):
    """A contact of a student, and who they are to the student."""

    relation: Relation


class ContactAdded(StudentContactRead):
    """What adding a contact to a student did: `created` a new contact (201), `linked` one
    already known (200), or found it `already` linked (200; its relation updated)."""

    outcome: Outcome


class StudentContacts(BaseModel):
    """A student's contacts, by name."""

    student_id: int
    items: list[StudentContactRead]


class LineCodeRead(BaseModel):
    """A one-time code the person sends to the school's LINE account to link it."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    contact_id: int
    expires_at: datetime
