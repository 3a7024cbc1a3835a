"""Calendar feed keys: one secret per teacher or student feed, hashed at rest, rotatable."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.auth import policy
from komawari.auth.models import CalendarFeed
from komawari.auth.service import hash_secret, new_secret
from komawari.errors import InvalidInput, NotFound
from komawari.people.models import Student, Teacher
from komawari.words import say

OwnerType = Literal["teacher", "student"]
_OWNERS: dict[str, type[Teacher] | type[Student]] = {"teacher": Teacher, "student": Student}


def feed_path(owner_type: OwnerType, owner_id: int, key: str) -> str:
    """Return the path of a feed with its key."""
    return f"/calendar/{owner_type}s/{owner_id}.ics?key={key}"


def rotate(db: Session, *, owner_type: OwnerType, owner_id: int, actor: Actor) -> str:
    """Create or replace the key of a feed; return the new key (shown once)."""
    model = _OWNERS.get(owner_type)
    if model is None:
        raise InvalidInput("owner_type", say("feed.owner-type", "must be 'teacher' or 'student'"))
    if db.get(model, owner_id) is None:
        raise InvalidInput(
            "owner_id",
            say("teacher.not-found", "teacher %(id)s does not exist", id=owner_id)
            if owner_type == "teacher"
            else say("student.not-found", "student %(id)s does not exist", id=owner_id),
        )
    key = new_secret("")
    feed = db.scalar(
        select(CalendarFeed)
        .where(CalendarFeed.owner_type == owner_type, CalendarFeed.owner_id == owner_id)
        .with_for_update()
    )
    if feed is None:
        feed = CalendarFeed(owner_type=owner_type, owner_id=owner_id, key_hash=hash_secret(key))
        db.add(feed)
    else:
        feed.key_hash, feed.rotated_at = hash_secret(key), datetime.now(UTC)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="calendar_feed.rotate",
        subject_type=owner_type,
        subject_id=owner_id,
        details={"feed_id": feed.id},
    )
    return key


def check(db: Session, *, owner_type: OwnerType, owner_id: int, key: str | None) -> None:
    """Raise NotFound unless `key` is the current key of this feed."""
    stored = db.scalar(
        select(CalendarFeed.key_hash).where(
            CalendarFeed.owner_type == owner_type, CalendarFeed.owner_id == owner_id
        )
    )
    if not policy.feed_key_matches(stored, hash_secret(key) if key else None):
        raise NotFound(
            say(
                "feed.not-found",
                "no calendar feed with this key; the key may have been rotated: ask for the"
                " new feed URL",
            )
        )
