"""The generation job: a recorded run over the engine, one transaction per batch.

The CLI, the periodic job of `komawari serve` and the benchmarks run this; series actions
and the API generate inside their own transaction with `service.generate_in` instead.
A batch that loses a serialization or deadlock race is retried whole; a run whose process
died (SIGKILL, power) is marked abandoned by the next run on the same host.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time as _time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from komawari.audit.service import SYSTEM, Actor
from komawari.config import get_settings
from komawari.db import errors as db_errors
from komawari.db.engine import session_scope, transient_state
from komawari.generation import service
from komawari.generation.counts import RunCounts
from komawari.generation.enums import RunStatus, RunTrigger
from komawari.generation.models import GenerationRun
from komawari.sessions import locks
from komawari.sessions.models import UNIQUE_1ON1

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
T = TypeVar("T")


def with_retry(func: Callable[[], T], *, attempts: int = MAX_ATTEMPTS) -> T:
    """Call `func`, retrying serialization failures and deadlocks with a bounded backoff."""
    for attempt in range(1, attempts + 1):
        try:
            return func()
        except DBAPIError as exc:
            state = getattr(exc.orig, "sqlstate", None)
            # A lesson committed by a concurrent writer after this statement's snapshot:
            # the retry sees it and skips it.
            lost_race = db_errors.refused_by(exc, UNIQUE_1ON1)
            if (transient_state(exc) is None and not lost_race) or attempt == attempts:
                raise
            log.warning("retrying after %s (attempt %d)", state, attempt)
            _time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.5))  # noqa: S311
    raise AssertionError("unreachable")  # pragma: no cover


def run(
    engine: Engine,
    *,
    trigger: RunTrigger,
    scope: service.Scope | None = None,
    actor: Actor = SYSTEM,
    batch_size: int | None = None,
    use_lock: bool = True,
) -> service.RunResult:
    """Run generation in batches, each its own transaction; record the run."""
    scope = (scope or service.Scope()).pinned()
    size = batch_size or get_settings().generation_batch_size
    with session_scope(engine) as s:
        mark_abandoned(s)
        run_id = service.start_run(s, trigger=trigger, scope=scope, actor=actor).id
    counts = RunCounts()
    gen_actor = service.generator_actor(run_id)
    after = service.START
    try:
        while True:

            def one_batch(
                after: service.Cursor = after,
            ) -> tuple[list[service.Cursor], RunCounts]:
                with session_scope(engine) as s:
                    if use_lock:
                        locks.lock_generation(s)
                    service.hold_run(s, run_id)
                    pending = service.pending_series(s, scope, after=after, limit=size)
                    if not pending:
                        return pending, RunCounts()
                    return pending, service.generate_batch(
                        s,
                        series_ids=[series_id for _, series_id in pending],
                        scope=scope,
                        run_id=run_id,
                        actor=gen_actor,
                        use_lock=use_lock,
                    )

            pending, batch = with_retry(one_batch)
            if not pending:
                break
            counts += batch
            after = pending[-1]
        with session_scope(engine) as s:
            counts += RunCounts(skipped_paused=service.paused_occurrences(s, scope))
            result = service.finish_run(s, run_id=run_id, status=RunStatus.SUCCEEDED, counts=counts)
        return result
    except Exception as exc:
        message = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        with session_scope(engine) as s:
            service.finish_run(
                s, run_id=run_id, status=RunStatus.FAILED, counts=counts, error=message[:2000]
            )
        raise


def mark_abandoned(db: Session) -> int:
    """Mark as abandoned the runs of this host whose process is gone (killed mid-run)."""
    host = socket.gethostname()
    stale = db.execute(
        select(GenerationRun.id, GenerationRun.pid).where(
            GenerationRun.status == RunStatus.RUNNING, GenerationRun.host == host
        )
    ).all()
    dead = [run_id for run_id, pid in stale if pid is None or not _alive(pid)]
    if dead:
        db.execute(
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
