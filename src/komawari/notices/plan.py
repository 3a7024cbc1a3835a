"""What a person is told: their waiting intents folded into the lines of one message.

Pure: no database. A lesson changed several times since the person was last told is one
line, from how it was before the first change to how it is now; a lesson back as it was
(moved and moved back, cancelled and restored) is no line at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from komawari.notices.enums import LESSON_CHANGES, Channel, NoticeKind

CANCELS = (NoticeKind.CANCEL, NoticeKind.BREAK, NoticeKind.CLOSURE)
# Kinds a contact hears of only when they asked to (a preference names a channel).
OPT_IN = frozenset({NoticeKind.ABSENT})


@dataclass(frozen=True)
class Slot:
    """A lesson's day, time, teacher and room, and whether it is off."""

    day: date
    start: time
    end: time
    teacher_id: int | None = None
    room_id: int | None = None
    cancelled: bool = False

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Slot:
        """Read the `before` an intent keeps."""
        return cls(
            day=date.fromisoformat(raw["date"]),
            start=time.fromisoformat(raw["start"]),
            end=time.fromisoformat(raw["end"]),
            teacher_id=raw.get("teacher_id"),
            room_id=raw.get("room_id"),
            cancelled=bool(raw.get("cancelled", False)),
        )


@dataclass(frozen=True)
class Intent:
    """One waiting intent with what the drain read of its subject now."""

    id: int
    kind: NoticeKind
    session_id: int | None
    series_id: int | None
    student: str | None
    lesson_name: str | None
    now: Slot | None
    before: Slot | None
    expires_on: date | None = None
    absence_date: date | None = None


@dataclass
class Line:
    """One line of a message: a lesson's net change, a credit, a new series, a reminder."""

    kind: NoticeKind
    intent_ids: list[int]
    student: str | None = None
    lesson_name: str | None = None
    now: Slot | None = None
    before: Slot | None = None
    expires_on: date | None = None
    absence_date: date | None = None
    series_id: int | None = None
    firsts: list[Slot] = field(default_factory=list)


@dataclass
class Folded:
    lines: list[Line]
    dropped: dict[int, str]  # intent id -> why no line tells of it


def _net_kind(group: list[Intent], before: Slot, now: Slot) -> NoticeKind:
    if now.cancelled:
        return next((i.kind for i in reversed(group) if i.kind in CANCELS), NoticeKind.CANCEL)
    if before.cancelled:
        return NoticeKind.RESTORE
    if (before.day, before.start, before.end) != (now.day, now.start, now.end):
        return NoticeKind.MOVE
    if before.teacher_id != now.teacher_id:
        return NoticeKind.SUBSTITUTE
    return NoticeKind.ROOM


def fold(intents: list[Intent]) -> Folded:
    """Fold one person's waiting intents (oldest first) into lines."""
    lines: list[Line] = []
    dropped: dict[int, str] = {}
    changes: dict[int, list[Intent]] = {}
    for intent in intents:
        if intent.kind in LESSON_CHANGES and intent.session_id is not None:
            changes.setdefault(intent.session_id, []).append(intent)
            continue
        if intent.kind == NoticeKind.REMINDER:
            now, before = intent.now, intent.before
            if now is None or before is None or now.cancelled or (now.day, now.start) != (
                before.day, before.start
            ):  # fmt: skip
                dropped[intent.id] = "changed"
                continue
        lines.append(
            Line(
                kind=intent.kind, intent_ids=[intent.id], student=intent.student,
                lesson_name=intent.lesson_name, now=intent.now, before=intent.before,
                expires_on=intent.expires_on, absence_date=intent.absence_date,
                series_id=intent.series_id,
            )
        )  # fmt: skip
    for group in changes.values():
        first, last = group[0], group[-1]
        ids = [i.id for i in group]
        if last.now is None or first.before is None:
            dropped.update(dict.fromkeys(ids, "gone"))
            continue
        if first.before == last.now:  # a frozen dataclass: every field compared
            dropped.update(dict.fromkeys(ids, "undone"))
            continue
        lines.append(
            Line(
                kind=_net_kind(group, first.before, last.now), intent_ids=ids,
                student=first.student, lesson_name=last.lesson_name, now=last.now,
                before=first.before,
            )
        )  # fmt: skip
    lines.sort(key=lambda line: (line.now.day, line.now.start) if line.now else (date.max, time()))
    return Folded(lines, dropped)


def channels(
    kind: NoticeKind, preferences: dict[str, Any], *, email: str | None, line_user: str | None
) -> list[Channel]:
    """The channels a kind of notice goes by to a contact that has these addresses."""
    chosen = preferences.get(kind.value)
    if chosen is None:
        if kind in OPT_IN:
            return []
        chosen = [Channel.LINE] if line_user else [Channel.EMAIL]
    have = {Channel.EMAIL: bool(email), Channel.LINE: bool(line_user)}
    return [Channel(c) for c in chosen if have.get(Channel(c), False)]


def in_quiet_hours(local: datetime, start: time, end: time) -> bool:
    """Whether `local` (the branch's wall clock) falls in the quiet hours start..end."""
    at = local.time()
    if start == end:
        return False
    if start < end:
        return start <= at < end
    return at >= start or at < end  # over midnight: 21:00-08:00


def touches(intents: list[Intent], day: date) -> bool:
    """Whether any intent is about a lesson on `day` (a same-day change goes anyway)."""
    return any(
        (i.now is not None and i.now.day == day) or (i.before is not None and i.before.day == day)
        for i in intents
    )
