"""What a change to a series will do, shown before it is made: the lessons it cancels or
makes, and the clashes that appear or clear, on its own lessons and on others.

The change runs for real inside a savepoint, through the same service function that the
confirmed change calls, the effects are read, and the savepoint is rolled back: the
preview can never disagree with what the change does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta

from sqlalchemy import BigInteger, ColumnElement, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from komawari.people.models import Student, Teacher
from komawari.series.models import ClassSeries
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession


@dataclass(frozen=True)
class State:
    """A lesson as the preview describes it."""

    id: int
    series_id: int | None
    date: date
    start_time: time
    end_time: time
    status: SessionStatus
    conflicts_with: tuple[int, ...]
    teacher: str
    party: str


@dataclass
class ChangePreview:
    """The effects of a change (all read inside the rolled-back savepoint)."""

    cancelled: list[State] = field(default_factory=list)
    created: list[State] = field(default_factory=list)
    clashes_appear: list[State] = field(default_factory=list)
    clashes_clear: list[State] = field(default_factory=list)
    error: str | None = None

    @property
    def nothing(self) -> bool:
        """Tell whether the change would change no lesson at all."""
        return not (self.cancelled or self.created or self.clashes_appear or self.clashes_clear)


def _states(session: Session, where: ColumnElement[bool]) -> dict[int, State]:
    rows = session.execute(
        select(
            ClassSession.id,
            ClassSession.series_id,
            ClassSession.date,
            ClassSession.start_time,
            ClassSession.end_time,
            ClassSession.status,
            ClassSession.conflicts_with,
            Teacher.name,
            func.coalesce(Student.name, ClassSession.title, ""),
        )
        .join(Teacher, Teacher.id == ClassSession.teacher_id)
        .outerjoin(Student, Student.id == ClassSession.student_id)
        .where(where)
    ).all()
    return {r[0]: State(*r[:6], tuple(r[6] or ()), r[7], r[8]) for r in rows}


def _snapshot(
    session: Session, series_ids: Sequence[int], also: Iterable[int] = ()
) -> dict[int, State]:
    """Return the state of the series' lessons, of every lesson they clash with, and of
    the lessons `also` (the clash partners of before, which may have stopped clashing)."""
    states = _states(session, ClassSession.series_id.in_(series_ids))
    if not states:
        return states
    blockers = {b for s in states.values() for b in s.conflicts_with} | set(also)
    first = min(s.date for s in states.values()) - timedelta(days=2)
    last = max(s.date for s in states.values()) + timedelta(days=2)
    partners = ClassSession.id.in_(blockers) | (
        ClassSession.date.between(first, last)
        & ClassSession.conflicts_with.overlap(cast(list(states), ARRAY(BigInteger)))
    )
    return {**_states(session, partners), **states}


def preview(session: Session, series_id: int, change: Callable[[], object]) -> ChangePreview:
    """Run `change` in a savepoint, read what it did to lessons, and undo it."""
    before = _snapshot(session, [series_id])
    savepoint = session.begin_nested()
    result = ChangePreview()
    try:
        made = change()
        session.flush()
        # A change from a date makes a new series: its lessons are part of the effect.
        series_ids = [series_id, *_new_series(made, series_id)]
        after = _snapshot(session, series_ids, also=before)
        result = _diff(before, after)
    except Exception as exc:  # the change refuses: the confirmation says why
        detail = getattr(exc, "detail", None)
        if not isinstance(detail, str):
            raise
        result.error = detail
    finally:
        savepoint.rollback()
    return result


def _new_series(made: object, series_id: int) -> list[int]:
    first = made[0] if isinstance(made, tuple) and made else made
    return [first.id] if isinstance(first, ClassSeries) and first.id != series_id else []


def _diff(before: dict[int, State], after: dict[int, State]) -> ChangePreview:
    out = ChangePreview()
    for now in sorted(after.values(), key=lambda s: (s.date, s.start_time, s.id)):
        old = before.get(now.id)
        if old is None:
            out.created.append(now)
            if now.status == SessionStatus.CONFLICTED:
                out.clashes_appear.append(now)
            continue
        if now.status == old.status:
            continue
        if now.status == SessionStatus.CANCELLED:
            out.cancelled.append(now)
        if now.status == SessionStatus.CONFLICTED:
            out.clashes_appear.append(now)
        elif old.status == SessionStatus.CONFLICTED:
            out.clashes_clear.append(now)
    return out
