"""Linking a contact's LINE account: a one-time code, sent to the school's LINE account.

The office makes a code for a contact and shows it (with the school's friend link as a QR
code); the family adds the school as a friend and sends the code in the chat. LINE tells
the webhook (`line_webhook.py`), which binds the sender's user ID to the code's contact.
A code is short, from an alphabet without look-alikes, valid for a day (the setting
`KOMAWARI_LINE_LINK_CODE_HOURS`) and used once: a conditional row lock decides, so two
deliveries of the same code bind once. A new code replaces the contact's unused ones.
"""

from __future__ import annotations

import enum
import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.config import get_settings
from komawari.db.errors import guarded
from komawari.notices import contacts
from komawari.notices.models import LINE_USER_GUARD, Contact, LineLinkCode
from komawari.scheduling import timerules

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, no 1/I
LENGTH = 8  # 32**8 = 2**40 codes
TRIES = 5  # a fresh code taken already: another draw (at 2**40, never in practice)


class Bound(enum.StrEnum):
    """What a message did to the links."""

    LINKED = "linked"  # the sender's account is now the code's contact's
    ALREADY = "already"  # it already was; the code is used up all the same
    NOT_A_CODE = "not-a-code"  # a message that is no code at all: chat, a sticker's text
    UNKNOWN = "unknown"  # no such code, or used, or expired: nothing changed
    TAKEN = "taken"  # the account is another contact's: nothing changed


def channel_secret() -> str | None:
    """Return the LINE channel's secret (None: LINE is not set up); a request dependency."""
    return get_settings().line_channel_secret


def friend_url() -> str:
    """Return the school's LINE friend link ("": not set up)."""
    return get_settings().line_friend_url


def normalise(typed: str) -> str | None:
    """Return the code a message holds (spaces and hyphens dropped, any case), or None."""
    code = "".join(typed.split()).replace("-", "").upper()
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def new_code(
    db: Session, *, contact_id: int, actor: Actor, hours: int | None = None
) -> LineLinkCode:
    """Make a contact's one-time code (valid `hours`, default the setting); the contact's
    unused codes end."""
    now = timerules.now()
    expires = now + timedelta(hours=hours or get_settings().line_link_code_hours)
    db.execute(
        delete(LineLinkCode).where(
            LineLinkCode.contact_id == contact_id, LineLinkCode.used_at.is_(None)
        )
    )
    for _ in range(TRIES):
        code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        made = db.scalar(
            insert(LineLinkCode)
            .values(code=code, contact_id=contact_id, created_at=now, expires_at=expires)
            .on_conflict_do_nothing()
            .returning(LineLinkCode.code)
        )
        if made is not None:
            break
    else:  # pragma: no cover - five draws of 2**40 each taken
        raise RuntimeError("no free LINE link code after five draws")
    audit.record(
        db, actor=actor, action="contact.line_code", subject_type=contacts.SUBJECT,
        subject_id=contact_id, details={"expires_at": expires.isoformat()},
    )  # fmt: skip
    return db.get_one(LineLinkCode, code)


def live_code(db: Session, contact_id: int) -> LineLinkCode | None:
    """Return the contact's code that can still be used, if any."""
    return db.scalars(
        select(LineLinkCode)
        .where(
            LineLinkCode.contact_id == contact_id,
            LineLinkCode.used_at.is_(None),
            LineLinkCode.expires_at > timerules.now(),
        )
        .order_by(LineLinkCode.created_at.desc())
    ).first()


def bind(db: Session, *, typed: str, line_user_id: str, actor: Actor) -> Bound:
    """Bind the LINE account that sent `typed` to the contact of the code it holds, if the
    code is live; use the code up. An account already another contact's is refused."""
    code = normalise(typed)
    if code is None:
        return Bound.NOT_A_CODE
    now = timerules.now()
    # Locked: a second delivery of the same code waits, then finds it used.
    row = db.scalars(
        select(LineLinkCode)
        .where(
            LineLinkCode.code == code,
            LineLinkCode.used_at.is_(None),
            LineLinkCode.expires_at > now,
        )
        .with_for_update()
    ).first()
    if row is None:
        return Bound.UNKNOWN
    contact = db.get_one(Contact, row.contact_id, with_for_update=True)
    elsewhere = db.scalar(
        select(Contact.id).where(Contact.line_user_id == line_user_id, Contact.id != contact.id)
    )
    if elsewhere is not None:
        return Bound.TAKEN
    if contact.line_user_id == line_user_id:
        row.used_at = now
        db.flush()
        return Bound.ALREADY
    replaced = contact.line_user_id is not None

    def link() -> None:
        row.used_at = now
        contact.line_user_id = line_user_id

    try:
        guarded(db, link, contacts.line_taken, LINE_USER_GUARD)
    except contacts.LineTaken:  # bound to another contact meanwhile: rolled back, the code unused
        return Bound.TAKEN
    audit.record(
        db, actor=actor, action="contact.line_linked", subject_type=contacts.SUBJECT,
        subject_id=contact.id, details={"replaced": replaced},
    )  # fmt: skip
    return Bound.LINKED


def unbind(db: Session, *, line_user_id: str, actor: Actor) -> int | None:
    """Forget a LINE account (it unfollowed the school): return the contact it was, if any."""
    contact = db.scalars(
        select(Contact).where(Contact.line_user_id == line_user_id).with_for_update()
    ).first()
    if contact is None:
        return None
    return unlink(db, contact=contact, actor=actor, why="unfollowed")


def unlink(db: Session, *, contact: Contact, actor: Actor, why: str = "office") -> int:
    """Take a contact's LINE account off it (the office's choice, or LINE's unfollow)."""
    if contact.line_user_id is not None:
        contact.line_user_id = None
        db.flush()
        audit.record(
            db, actor=actor, action="contact.line_unlinked", subject_type=contacts.SUBJECT,
            subject_id=contact.id, details={"why": why},
        )  # fmt: skip
    return contact.id
