"""The outbox's drain: each due person's waiting intents become one message per channel.

A person's intents wait `KOMAWARI_NOTICE_WINDOW_SECONDS` from the oldest, so changes that
fall close together make one message; in the person's quiet hours they wait longer,
unless one is about a lesson today. A drainer holds the contacts it drains (FOR UPDATE
SKIP LOCKED): several workers drain at once and never make one person's message twice.
Each intent is settled in the same transaction as the message that tells of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from komawari.config import get_settings
from komawari.notices import plan, render, sql
from komawari.notices.enums import Channel, MessageStatus, NoticeKind
from komawari.notices.models import Contact, NoticeMessage
from komawari.people.models import Room, Teacher


@dataclass(frozen=True)
class Drained:
    messages: int
    dropped: int
    waiting: list[int]  # contacts left for later (their quiet hours)


def configured(channel: Channel) -> bool:
    """Whether the deployment can send by `channel` (else its messages are kept, held)."""
    settings = get_settings()
    if channel == Channel.EMAIL:
        return bool(settings.smtp_url)
    return bool(settings.line_channel_token)


def _slot(day: Any, start: Any, end: Any, teacher: Any, room: Any, off: Any) -> plan.Slot | None:
    if day is None:
        return None
    return plan.Slot(day, start, end, teacher, room, bool(off))


def _intents(db: Session, ids: list[int]) -> dict[int, list[tuple[plan.Intent, str]]]:
    found: dict[int, list[tuple[plan.Intent, str]]] = {}
    for r in db.execute(text(sql.PENDING), {"ids": ids}).mappings():
        intent = plan.Intent(
            id=r["id"], kind=NoticeKind(r["kind"]), session_id=r["session_id"],
            series_id=r["series_id"], student=r["student_name"], lesson_name=r["lesson_name"],
            now=_slot(r["date"], r["start_time"], r["end_time"], r["teacher_id"], r["room_id"],
                      r["cancelled"]),
            before=plan.Slot.from_json(r["before"]) if r["before"] else None,
            expires_on=r["expires_on"], absence_date=r["absence_date"],
        )  # fmt: skip
        found.setdefault(r["contact_id"], []).append((intent, r["time_zone"]))
    return found


def _names(db: Session, lines: list[plan.Line]) -> render.Names:
    slots = [s for line in lines for s in (line.now, line.before, *line.firsts) if s]
    teacher_ids = {s.teacher_id for s in slots if s.teacher_id}
    room_ids = {s.room_id for s in slots if s.room_id}
    teachers: dict[int, str] = dict(
        db.execute(select(Teacher.id, Teacher.name).where(Teacher.id.in_(teacher_ids))).all()
    )
    rooms: dict[int, str] = dict(
        db.execute(select(Room.id, Room.name).where(Room.id.in_(room_ids))).all()
    )
    return render.Names(teachers, rooms)


def _firsts(db: Session, lines: list[plan.Line]) -> None:
    series = [line for line in lines if line.kind == NoticeKind.NEW_SERIES]
    if not series:
        return
    rows = db.execute(text(sql.FIRST_LESSONS), {"ids": [line.series_id for line in series]})
    by_series: dict[int, list[Any]] = {}
    for r in rows.mappings():
        by_series.setdefault(r["series_id"], []).append(r)
    for line in series:
        found = by_series.get(line.series_id or 0, [])
        line.firsts = [plan.Slot(r["date"], r["start_time"], r["end_time"], r["teacher_id"],
                                 r["room_id"]) for r in found]  # fmt: skip
        if found:
            line.lesson_name = line.lesson_name or found[0]["lesson_name"]


def drain(
    db: Session, *, now: datetime | None = None, limit: int = 200, skip: Sequence[int] = ()
) -> Drained:
    """Make the messages of up to `limit` due people (not those of `skip`), in the current
    transaction."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(seconds=get_settings().notice_window_seconds)
    params = {"cutoff": cutoff, "limit": limit, "skip": list(skip)}
    due = list(db.scalars(text(sql.DUE_CONTACTS), params))
    if not due:
        return Drained(0, 0, [])
    held = list(db.scalars(text(sql.LOCK_CONTACTS), {"ids": due}))
    contacts = {c.id: c for c in db.scalars(select(Contact).where(Contact.id.in_(held)))}
    pending = _intents(db, held)
    waiting: list[int] = []
    folded: dict[int, plan.Folded] = {}
    for contact_id in held:
        rows = pending.get(contact_id, [])
        if not rows:
            continue
        contact = contacts[contact_id]
        intents = [intent for intent, _ in rows]
        local = now.astimezone(ZoneInfo(rows[0][1]))
        if plan.in_quiet_hours(local, contact.quiet_start, contact.quiet_end) and not plan.touches(
            intents, local.date()
        ):
            waiting.append(contact_id)
            continue
        folded[contact_id] = plan.fold(intents)
    every_line = [line for f in folded.values() for line in f.lines]
    _firsts(db, every_line)
    names = _names(db, every_line)
    gone: dict[int, str] = {}
    messages: list[dict[str, Any]] = []
    tells: list[list[int]] = []  # each message's intents
    for contact_id, f in folded.items():
        contact = contacts[contact_id]
        gone.update(f.dropped)
        by_channel: dict[Channel, list[plan.Line]] = {}
        for line in f.lines:
            chosen = plan.channels(line.kind, contact.preferences, email=contact.email,
                                   line_user=contact.line_user_id)  # fmt: skip
            if not chosen:
                gone.update(dict.fromkeys(line.intent_ids, "muted"))
            for channel in chosen:
                by_channel.setdefault(channel, []).append(line)
        for channel, lines in by_channel.items():
            words = render.message(name=contact.name, language=contact.language, lines=lines,
                                   names=names)  # fmt: skip
            messages.append({
                "contact_id": contact_id, "channel": channel, "language": contact.language,
                "address": contact.email if channel == Channel.EMAIL else contact.line_user_id,
                "subject": words.subject, "body_text": words.text,
                "body_html": words.html if channel == Channel.EMAIL else None,
                "kinds": sorted({line.kind.value for line in lines}),
                "status": MessageStatus.PENDING if configured(channel) else MessageStatus.HELD,
            })  # fmt: skip
            tells.append([i for line in lines for i in line.intent_ids])
    told: dict[int, int] = {}
    if messages:
        ids = db.scalars(
            insert(NoticeMessage).returning(NoticeMessage.id, sort_by_parameter_order=True),
            messages,
        ).all()
        for message_id, intent_ids in zip(ids, tells, strict=True):
            for intent_id in intent_ids:
                told.setdefault(intent_id, message_id)
        db.execute(text(sql.SETTLE_TOLD),
                   {"ids": list(told), "messages": list(told.values()), "now": now})  # fmt: skip
    dropped = {i: r for i, r in gone.items() if i not in told}
    if dropped:
        reasons = list(dropped.values())
        db.execute(text(sql.SETTLE_DROPPED), {"ids": list(dropped), "reasons": reasons, "now": now})
    return Drained(len(messages), len(dropped), waiting)
