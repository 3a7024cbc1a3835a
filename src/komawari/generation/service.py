"""Generation inside the caller's transaction: batches, a whole pass, and the run records.

These functions take the session first, flush but never commit; the engine-level job
that owns one transaction per batch and retries them is `generation/job.py`.
Correctness rests on the database: the (series, original date) key and ON CONFLICT ON
CONSTRAINT with that name. The resource locks only save duplicate effort and keep the
conflict verdicts of concurrent writers consistent; the rows left are the same without them.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from komawari.audit.service import SYSTEM, Actor
from komawari.config import get_settings
from komawari.generation import sql
from komawari.generation.counts import RunCounts
from komawari.generation.enums import RunStatus, RunTrigger
from komawari.generation.models import GenerationRun
from komawari.sessions import locks, reevaluate
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession


@dataclass
class RunResult:
    """A finished run: its id, status, counts and error."""

    run_id: int
    status: str
    counts: RunCounts
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the result as plain JSON-able values."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "error": self.error,
            **self.counts.model_dump(),
        }


@dataclass(frozen=True)
class Scope:
    """Which series a run covers and how far."""

    branch_id: int | None = None
    series_id: int | None = None
    through: date | None = None
    fill_date: date | None = None
    horizon_days: int | None = None
    now: datetime | None = None

    def pinned(self) -> Scope:
        """Return this scope with `now` fixed, so every batch of a run sees one today."""
        return self if self.now is not None else replace(self, now=datetime.now(UTC))

    def params(self) -> dict[str, Any]:
        """Return the SQL parameters of this scope."""
        return {
            "branch_id": self.branch_id,
            "series_id": self.series_id,
            "through": self.through,
            "fill_date": self.fill_date,
            "horizon": self.horizon_days or get_settings().horizon_days,
            "now": self.now or datetime.now(UTC),
        }


def generate_batch(
    db: Session,
    *,
    series_ids: list[int],
    scope: Scope,
    run_id: int,
    actor: Actor,
    use_lock: bool = True,
) -> RunCounts:
    """Materialise the pending occurrences of `series_ids` in the current transaction."""
    if use_lock:  # what the new rows will hold, before the insert takes its booking time
        locks.lock_series(db, series_ids, with_sessions=False)
    params = {**scope.params(), "ids": series_ids, "run_id": run_id, "actor": actor.name}
    db.execute(text(sql.NO_NESTLOOP_MERGEJOIN_JIT))
    row = db.execute(text(sql.GENERATE_SQL), params).one()
    db.execute(text(sql.NESTLOOP))
    conflicted = int(row.conflicted)
    if row.lost_races and use_lock:  # pragma: no cover - the locks leave no race to lose
        # A row lost to a concurrent writer may have been counted as a blocker.
        created_ids = [int(i) for i in row.created_ids]
        reevaluate.evaluate(db, created_ids)
        conflicted = len(
            db.scalars(
                select(ClassSession.id).where(
                    ClassSession.id.in_(created_ids),
                    ClassSession.status == SessionStatus.CONFLICTED,
                )
            ).all()
        )
    # Without the lock (only for tests proving the keys alone hold) verdicts are not
    # promised: rows of concurrent writers are invisible to each other's snapshots.
    return RunCounts(
        created=int(row.created),
        skipped_existing=int(row.skipped_existing),
        skipped_duplicate=int(row.skipped_duplicate),
        skipped_closed=int(row.skipped_closed),
        skipped_paused=int(row.skipped_break),
        conflicted=conflicted,
        series_done=int(row.series_done),
    )


def generator_actor(run_id: int) -> Actor:
    """Return the actor a run's audit events name: the generator, by run."""
    return Actor("generator", f"run:{run_id}")


# Where a run's walk through the pending series has got to: (teacher id, series id).
Cursor = tuple[int, int]
START: Cursor = (0, 0)


def pending_series(db: Session, scope: Scope, *, after: Cursor, limit: int) -> list[Cursor]:
    """Return the next (teacher, series) of ACTIVE series with dates to materialise.

    In (teacher, series id) order from the cursor `after`: a teacher's series share a batch.
    """
    params = {**scope.params(), "after_teacher": after[0], "after": after[1], "limit": limit}
    return [(int(t), int(i)) for t, i in db.execute(text(sql.PENDING_SQL), params)]


def paused_occurrences(db: Session, scope: Scope) -> int:
    """Count the occurrences PAUSED series would have had in the run's window."""
    return int(db.execute(text(sql.PAUSED_SQL), scope.params()).scalar_one())


def start_run(db: Session, *, trigger: RunTrigger, scope: Scope, actor: Actor) -> GenerationRun:
    """Record a run as running, with the host and pid that make its liveness checkable."""
    run = GenerationRun(
        trigger=trigger,
        branch_id=scope.branch_id,
        series_id=scope.series_id,
        through_date=scope.through,
        host=socket.gethostname(),
        pid=os.getpid(),
        actor=f"{actor.type}:{actor.name}",
    )
    db.add(run)
    db.flush()
    return run


class RunGone(RuntimeError):
    """The run's record is gone (a backup was restored under it): it makes nothing more."""


def hold_run(db: Session, run_id: int) -> None:
    """Hold the run's record for this batch's transaction, or stop: a run whose record a
    restore took away would make lessons no run accounts for. (A restore waits for the
    batch holding it; a batch after the restore finds no record.)"""
    held = db.scalar(
        select(GenerationRun.id).where(GenerationRun.id == run_id).with_for_update(key_share=True)
    )
    if held is None:
        raise RunGone(f"generation run {run_id} is no longer recorded (a restore?)")


def finish_run(
    db: Session,
    *,
    run_id: int,
    status: RunStatus,
    counts: RunCounts,
    error: str | None = None,
) -> RunResult:
    """Record how a run ended and what it did; return that as a result."""
    db.execute(
        update(GenerationRun)
        .where(GenerationRun.id == run_id)
        .values(status=status, finished_at=datetime.now(UTC), error=error, **counts.model_dump())
    )
    return RunResult(run_id, status.value, counts, error)


def generate_in(
    db: Session, *, trigger: RunTrigger, scope: Scope, actor: Actor = SYSTEM
) -> RunResult:
    """Run generation inside the caller's transaction (series actions: extend, change-from)."""
    scope = scope.pinned()
    run = start_run(db, trigger=trigger, scope=scope, actor=actor)
    counts = RunCounts()
    after = START
    while pending := pending_series(
        db, scope, after=after, limit=get_settings().generation_batch_size
    ):
        counts += generate_batch(
            db,
            series_ids=[series_id for _, series_id in pending],
            scope=scope,
            run_id=run.id,
            actor=generator_actor(run.id),
        )
        after = pending[-1]
    counts += RunCounts(skipped_paused=paused_occurrences(db, scope))
    return finish_run(db, run_id=run.id, status=RunStatus.SUCCEEDED, counts=counts)


def runs_of(
    db: Session,
    *,
    branch_ids: list[int] | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[GenerationRun]:
    """Return runs, newest first; with `branch_ids`, only runs of those branches' data."""
    from komawari.series.models import ClassSeries

    query = select(GenerationRun).order_by(GenerationRun.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(GenerationRun.id < before_id)
    if branch_ids is not None:
        of_series = select(ClassSeries.id).where(ClassSeries.branch_id.in_(branch_ids))
        query = query.where(
            GenerationRun.branch_id.in_(branch_ids) | GenerationRun.series_id.in_(of_series)
        )
    return list(db.scalars(query))


def run_branch_id(db: Session, run_id: int) -> tuple[GenerationRun, int | None]:
    """Return a run and the branch its data belongs to (None: every branch), or NotFound."""
    from komawari.errors import NotFound
    from komawari.series.models import ClassSeries
    from komawari.words import say

    found = db.get(GenerationRun, run_id)
    if found is None:
        raise NotFound(
            say("generation.run-not-found", "there is no generation run number %(id)s", id=run_id)
        )
    if found.branch_id is not None or found.series_id is None:
        return found, found.branch_id
    return found, db.scalar(select(ClassSeries.branch_id).where(ClassSeries.id == found.series_id))
