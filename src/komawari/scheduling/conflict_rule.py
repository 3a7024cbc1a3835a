"""The conflict rule (promise 5 of docs/architecture.md), over plain values.

Two non-cancelled sessions conflict when their times overlap (half-open) and they share
a teacher, a student or a room. A non-cancelled session is CONFLICTED exactly when some
non-cancelled session booked before it (earlier creation time, ties by id) conflicts
with it. The SQL in komawari.sessions.reevaluate mirrors this; tests check they agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Slot:
    """What the rule needs of a session."""

    id: int
    starts_at: datetime
    ends_at: datetime
    booked_at: datetime
    teacher_id: int
    student_ids: frozenset[int] = field(default_factory=frozenset)
    room_id: int | None = None
    cancelled: bool = False


def overlaps(a: Slot, b: Slot) -> bool:
    """Tell whether two slots overlap in time (half-open: touching is not overlapping)."""
    return a.starts_at < b.ends_at and b.starts_at < a.ends_at


def shares_resource(a: Slot, b: Slot) -> bool:
    """Tell whether two slots share a teacher, a student or a room."""
    return (
        a.teacher_id == b.teacher_id
        or bool(a.student_ids & b.student_ids)
        or (a.room_id is not None and a.room_id == b.room_id)
    )


def booked_before(a: Slot, b: Slot) -> bool:
    """Tell whether `a` was booked before `b` (creation time, then id)."""
    return (a.booked_at, a.id) < (b.booked_at, b.id)


def blockers(slot: Slot, others: Iterable[Slot]) -> list[int]:
    """Return the ids of the non-cancelled slots booked before `slot` that conflict with it."""
    if slot.cancelled:
        return []
    found = [
        o
        for o in others
        if o.id != slot.id
        and not o.cancelled
        and booked_before(o, slot)
        and overlaps(o, slot)
        and shares_resource(o, slot)
    ]
    return [o.id for o in sorted(found, key=lambda o: (o.booked_at, o.id))]


def evaluate(slots: Iterable[Slot]) -> dict[int, list[int]]:
    """Return, for every non-cancelled slot, the ids it conflicts with (empty = CONFIRMED)."""
    items = list(slots)
    return {s.id: blockers(s, items) for s in items if not s.cancelled}
