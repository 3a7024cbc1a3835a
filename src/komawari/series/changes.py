"""What a change to a series will do, shown before it is made: the lessons it cancels or
makes, and the clashes that appear or clear, on its own lessons and on others.

The change runs for real inside a savepoint, through the same service function that the
confirmed change calls, the effects are read, and the savepoint is rolled back: the
preview can never disagree with what the change does. The lessons it names are shown as
the read model shows them to the viewer: one they may not read (another branch's clash
partner) keeps its date, times and what it shares only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, time

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from komawari.auth.policy import Principal
from komawari.errors import KomawariError
from komawari.people.models import Student, Teacher
from komawari.series.models import ClassSeries
from komawari.sessions import read_model
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from komawari.words import Say


@dataclass(frozen=True)
class State:
    """A lesson as the preview describes it; `hidden`: the viewer may not read it, so it
    keeps its date, times, status and what it `shared` with their lessons only."""

    id: int | None
    series_id: int | None
    date: date
    start_time: time
    end_time: time
    status: SessionStatus
    conflicts_with: tuple[int, ...]
    teacher: str
    party: str
    branch_id: int | None = None
    teacher_id: int | None = None
    hidden: bool = False
    shared: tuple[str, ...] = ()


@dataclass
class ChangePreview:
    """The effects of a change (all read inside the rolled-back savepoint)."""

    cancelled: list[State] = field(default_factory=list)
    created: list[State] = field(default_factory=list)
    restored: list[State] = field(default_factory=list)  # cancelled before, live after
    clashes_appear: list[State] = field(default_factory=list)
    clashes_clear: list[State] = field(default_factory=list)
    error: Say | str | None = None  # why the change is refused (a page writes it: `said`)

    @property
    def nothing(self) -> bool:
        """Tell whether the change would change no lesson at all."""
        return not (
            self.cancelled or self.created or self.restored or self.clashes_appear
            or self.clashes_clear
        )  # fmt: skip


def _states(db: Session, where: ColumnElement[bool]) -> dict[int, State]:
    rows = db.execute(
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
            ClassSession.branch_id,
            ClassSession.teacher_id,
        )
        .join(Teacher, Teacher.id == ClassSession.teacher_id)
        .outerjoin(Student, Student.id == ClassSession.student_id)
        .where(where)
    ).all()
    return {
        r[0]: State(*r[:6], tuple(r[6] or ()), r[7], r[8], branch_id=r[9], teacher_id=r[10])
        for r in rows
    }


def _snapshot(db: Session, series_ids: Sequence[int], also: Iterable[int] = ()) -> dict[int, State]:
    """Return the state of the series' lessons, of every lesson they clash with (from both
    sides: the read model's clash partners), and of the lessons `also` (the clash partners
    of before, which may have stopped clashing)."""
    states = _states(db, ClassSession.series_id.in_(series_ids))
    if not states:
        return states
    blockers = {b for s in states.values() for b in s.conflicts_with} | set(also)
    later = read_model.clashed_by_ids(db, states)
    partners = blockers | {i for ids in later.values() for i in ids}
    return {**_states(db, ClassSession.id.in_(partners)), **states}


def preview(
    db: Session,
    series_id: int,
    change: Callable[[], object],
    *,
    viewer: Principal | None = None,
) -> ChangePreview:
    """Run `change` in a savepoint, read what it did to lessons, and undo it.

    The lessons `viewer` may not read are redacted (None: everything is shown)."""
    before = _snapshot(db, [series_id])
    savepoint = db.begin_nested()
    result = ChangePreview()
    try:
        made = change()
        db.flush()
        # A change from a date makes a new series: its lessons are part of the effect.
        series_ids = [series_id, *_new_series(made, series_id)]
        after = _snapshot(db, series_ids, also=before)
        result = _shown_to(db, viewer, _diff(before, after), before)
    except Exception as exc:  # the change refuses: the confirmation says why
        detail = getattr(exc, "detail", None)
        if not isinstance(detail, str):
            raise
        result.error = exc.words if isinstance(exc, KomawariError) else detail
    finally:
        savepoint.rollback()
    return result


def _new_series(made: object, series_id: int) -> list[int]:
    first = made[0] if isinstance(made, tuple) and made else made
    return [first.id] if isinstance(first, ClassSeries) and first.id != series_id else []


def _diff(before: dict[int, State], after: dict[int, State]) -> ChangePreview:
    out = ChangePreview()
    for key, now in sorted(after.items(), key=lambda kv: (kv[1].date, kv[1].start_time, kv[0])):
        old = before.get(key)
        if old is None:
            out.created.append(now)
            if now.status == SessionStatus.CONFLICTED:
                out.clashes_appear.append(now)
            continue
        if now.status == old.status:
            continue
        if now.status == SessionStatus.CANCELLED:
            out.cancelled.append(now)
        elif old.status == SessionStatus.CANCELLED:
            out.restored.append(now)
        if now.status == SessionStatus.CONFLICTED:
            out.clashes_appear.append(now)
        elif old.status == SessionStatus.CONFLICTED:
            out.clashes_clear.append(now)
    return out


def _shown_to(
    db: Session, viewer: Principal | None, out: ChangePreview, before: dict[int, State]
) -> ChangePreview:
    """Redact the lessons `viewer` may not read: no id, names or series; what each shares
    with the readable lessons it clashed with (before or after the change) is kept."""
    lists = (out.cancelled, out.created, out.restored, out.clashes_appear, out.clashes_clear)
    hidden = {
        s.id
        for states in lists
        for s in states
        if s.id is not None
        and not read_model.may_read(
            viewer, branch_id=s.branch_id or 0, teacher_id=s.teacher_id or 0
        )
    }
    if not hidden:
        return out
    partners: dict[int, set[int]] = {}
    for states in lists:
        for s in states:
            if s.id in hidden:
                old = before[s.id].conflicts_with if s.id in before else ()
                partners.setdefault(s.id, set()).update(old, s.conflicts_with)
    seen = read_model.readable(db, viewer, {b for ids in partners.values() for b in ids})
    both = read_model.shared(db, [(h, b) for h, ids in partners.items() for b in ids if b in seen])
    what = {
        h: tuple(k for k in read_model.SHARED_KINDS if any(k in both.get((h, b), []) for b in ids))
        for h, ids in partners.items()
    }

    def shown(s: State) -> State:
        if s.id not in hidden:
            return s
        return replace(
            s, id=None, series_id=None, conflicts_with=(), teacher="", party="",
            branch_id=None, teacher_id=None, hidden=True, shared=what.get(s.id, ()),
        )  # fmt: skip

    return replace(
        out,
        cancelled=[shown(s) for s in out.cancelled],
        created=[shown(s) for s in out.created],
        restored=[shown(s) for s in out.restored],
        clashes_appear=[shown(s) for s in out.clashes_appear],
        clashes_clear=[shown(s) for s in out.clashes_clear],
    )
