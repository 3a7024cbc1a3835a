"""Generation: materialise the occurrences of ACTIVE series up to the horizon.

Correctness rests on the database: the (series, original date) key and ON CONFLICT ON
CONSTRAINT with that name. The resource locks only save duplicate effort and keep the
conflict verdicts of concurrent writers consistent; the rows left are the same without them.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time as _time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import Engine, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from komawari.audit.service import SYSTEM, Actor
from komawari.config import get_settings
from komawari.db.engine import session_scope
from komawari.generation import sql
from komawari.generation.enums import RunStatus, RunTrigger
from komawari.generation.models import GenerationRun
from komawari.sessions import locks, reevaluate
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession

log = logging.getLogger(__name__)

RETRYABLE = {"40001", "40P01"}
MAX_ATTEMPTS = 6
T = TypeVar("T")


@dataclass
class Counts:
    """What a run (or one batch) did."""

    created: int = 0
    skipped_existing: int = 0
    skipped_duplicate: int = 0
    skipped_closed: int = 0
    skipped_paused: int = 0
    conflicted: int = 0
    series_done: int = 0

    def add(self, other: Counts) -> None:
        """Add another batch's counts to these."""
        for key, value in asdict(other).items():
            setattr(self, key, getattr(self, key) + value)


@dataclass
class RunResult:
    """A finished run: its id, status, counts and error."""

    run_id: int
    status: str
    counts: Counts
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the result as plain JSON-able values."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "error": self.error,
            **asdict(self.counts),
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


def with_retry(func: Callable[[], T], *, attempts: int = MAX_ATTEMPTS) -> T:
    """Call `func`, retrying serialization failures and deadlocks with a bounded backoff."""
    for attempt in range(1, attempts + 1):
        try:
            return func()
        except DBAPIError as exc:
            state = getattr(exc.orig, "sqlstate", None)
            constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
            # A lesson committed by a concurrent writer after this statement's snapshot
            # (only possible without the resource locks): the retry sees it and skips it.
            lost_race = state == "23505" and constraint == "ux_class_sessions_unique_1on1"
            if (state not in RETRYABLE and not lost_race) or attempt == attempts:
                raise
            log.warning("retrying after %s (attempt %d)", state, attempt)
            _time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.5))  # noqa: S311
    raise AssertionError("unreachable")  # pragma: no cover


def generate_batch(
    session: Session,
    *,
    series_ids: list[int],
    scope: Scope,
    run_id: int,
    actor: Actor,
    use_lock: bool = True,
) -> Counts:
    """Materialise the pending occurrences of `series_ids` in the current transaction."""
    if use_lock:  # what the new rows will hold, before the insert takes its booking time
        locks.lock_series(session, series_ids, with_sessions=False)
    params = {**scope.params(), "ids": series_ids, "run_id": run_id, "actor": actor.name}
    session.execute(text(sql.NO_NESTLOOP_MERGEJOIN_JIT))
    row = session.execute(text(sql.GENERATE_SQL), params).one()
    session.execute(text(sql.NESTLOOP))
    conflicted = int(row.conflicted)
    if row.lost_races and use_lock:  # pragma: no cover - the locks leave no race to lose
        # A row lost to a concurrent writer may have been counted as a blocker.
        created_ids = [int(i) for i in row.created_ids]
        reevaluate.evaluate(session, created_ids)
        conflicted = len(
            session.scalars(
                select(ClassSession.id).where(
                    ClassSession.id.in_(created_ids),
                    ClassSession.status == SessionStatus.CONFLICTED,
                )
            ).all()
        )
    # Without the lock (only for tests proving the keys alone hold) verdicts are not
    # promised: rows of concurrent writers are invisible to each other's snapshots.
    return Counts(
        created=int(row.created),
        skipped_existing=int(row.skipped_existing),
        skipped_duplicate=int(row.skipped_duplicate),
        skipped_closed=int(row.skipped_closed),
        conflicted=conflicted,
        series_done=int(row.series_done),
    )


def pending_series(session: Session, scope: Scope, *, after: int, limit: int) -> list[int]:
    """Return the next ids (keyset after `after`) of ACTIVE series with dates to materialise."""
    params = {**scope.params(), "after": after, "limit": limit}
    return [int(r[0]) for r in session.execute(text(sql.PENDING_SQL), params)]


def paused_occurrences(session: Session, scope: Scope) -> int:
    """Count the occurrences PAUSED series would have had in the run's window."""
    return int(session.execute(text(sql.PAUSED_SQL), scope.params()).scalar_one())


def _start_run(session: Session, trigger: RunTrigger, scope: Scope, actor: Actor) -> GenerationRun:
    run = GenerationRun(
        trigger=trigger,
        branch_id=scope.branch_id,
        series_id=scope.series_id,
        through_date=scope.through,
        host=socket.gethostname(),
        pid=os.getpid(),
        actor=f"{actor.type}:{actor.name}",
    )
    session.add(run)
    session.flush()
    return run


def _finish(
    session: Session, run_id: int, status: RunStatus, counts: Counts, error: str | None = None
) -> None:
    session.execute(
        update(GenerationRun)
        .where(GenerationRun.id == run_id)
        .values(status=status, finished_at=datetime.now(UTC), error=error, **asdict(counts))
    )


def generate_in(
    session: Session, *, trigger: RunTrigger, scope: Scope, actor: Actor = SYSTEM
) -> RunResult:
    """Run generation inside the caller's transaction (series actions: extend, change-from)."""
    scope = scope.pinned()
    run = _start_run(session, trigger, scope, actor)
    counts = Counts()
    after = 0
    while ids := pending_series(
        session, scope, after=after, limit=get_settings().generation_batch_size
    ):
        counts.add(
            generate_batch(
                session,
                series_ids=ids,
                scope=scope,
                run_id=run.id,
                actor=Actor("generator", f"run:{run.id}"),
            )
        )
        after = ids[-1]
    counts.skipped_paused = paused_occurrences(session, scope)
    _finish(session, run.id, RunStatus.SUCCEEDED, counts)
    return RunResult(run.id, RunStatus.SUCCEEDED.value, counts)


def run(
    engine: Engine,
    *,
    trigger: RunTrigger,
    scope: Scope | None = None,
    actor: Actor = SYSTEM,
    batch_size: int | None = None,
    use_lock: bool = True,
) -> RunResult:
    """Run generation in batches, each its own transaction; record the run."""
    scope = (scope or Scope()).pinned()
    size = batch_size or get_settings().generation_batch_size
    with session_scope(engine) as s:
        mark_abandoned(s)
        run_id = _start_run(s, trigger, scope, actor).id
    counts = Counts()
    gen_actor = Actor("generator", f"run:{run_id}")
    after = 0
    try:
        while True:

            def one_batch(after: int = after) -> tuple[list[int], Counts]:
                with session_scope(engine) as s:
                    if use_lock:
                        locks.lock_generation(s)
                    ids = pending_series(s, scope, after=after, limit=size)
                    if not ids:
                        return ids, Counts()
                    return ids, generate_batch(
                        s,
                        series_ids=ids,
                        scope=scope,
                        run_id=run_id,
                        actor=gen_actor,
                        use_lock=use_lock,
                    )

            ids, batch = with_retry(one_batch)
            if not ids:
                break
            counts.add(batch)
            after = ids[-1]
        with session_scope(engine) as s:
            counts.skipped_paused = paused_occurrences(s, scope)
            _finish(s, run_id, RunStatus.SUCCEEDED, counts)
        return RunResult(run_id, RunStatus.SUCCEEDED.value, counts)
    except Exception as exc:
        message = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        with session_scope(engine) as s:
            _finish(s, run_id, RunStatus.FAILED, counts, error=message[:2000])
        raise


def mark_abandoned(session: Session) -> int:
    """Mark as abandoned the runs of this host whose process is gone (killed mid-run)."""
    host = socket.gethostname()
    stale = session.execute(
        select(GenerationRun.id, GenerationRun.pid).where(
            GenerationRun.status == RunStatus.RUNNING, GenerationRun.host == host
        )
    ).all()
    dead = [run_id for run_id, pid in stale if pid is None or not _alive(pid)]
    if dead:
        session.execute(
            update(GenerationRun)
            .where(GenerationRun.id.in_(dead))
            .values(
                status=RunStatus.ABANDONED,
                finished_at=datetime.now(UTC),
                error="the process ended before the run finished",
            )
        )
    return len(dead)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - another user's live process
        return True
    return True


def runs_of(
    session: Session,
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
    return list(session.scalars(query))


def run_branch_id(session: Session, run_id: int) -> tuple[GenerationRun, int | None]:
    """Return a run and the branch its data belongs to (None: every branch), or NotFound."""
    from komawari.errors import NotFound
    from komawari.series.models import ClassSeries

    found = session.get(GenerationRun, run_id)
    if found is None:
        raise NotFound(f"generation run {run_id} does not exist")
    if found.branch_id is not None or found.series_id is None:
        return found, found.branch_id
    return found, session.scalar(
        select(ClassSeries.branch_id).where(ClassSeries.id == found.series_id)
    )
