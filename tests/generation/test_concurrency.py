"""Generation is idempotent and safe to run concurrently: processes, threads, and SIGKILL."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from komawari.audit.service import SYSTEM
from komawari.db.engine import session_scope
from komawari.generation import job
from komawari.generation import service as generation
from komawari.generation.counts import RunCounts
from komawari.generation.enums import RunTrigger
from tests.factories import generation as workload
from tests.sessions.verdicts import assert_verdicts_follow_the_rule

pytestmark = pytest.mark.concurrency


def _scope() -> generation.Scope:
    return generation.Scope(now=workload.NOW, horizon_days=workload.HORIZON)


def _worker(url: str, barrier: Any, batch: int, use_lock: bool) -> None:
    engine = create_engine(url, poolclass=None)
    barrier.wait()
    job.run(
        engine, trigger=RunTrigger.SCHEDULE, scope=_scope(), batch_size=batch, use_lock=use_lock
    )
    engine.dispose()


def _processes(url: str, n: int, *, batch: int, use_lock: bool = True) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(n)
    procs = [ctx.Process(target=_worker, args=(url, barrier, batch, use_lock)) for _ in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=240)
        assert p.exitcode == 0


def _assert_exactly_one_run(engine: Engine) -> None:
    rows = workload.actual(engine)
    assert len(rows) == len(set(rows)), "an occurrence was materialised twice"
    assert set(rows) == workload.expected(engine)
    with engine.connect() as conn:
        dupes = conn.execute(
            text(
                "SELECT count(*) - count(DISTINCT"
                " (date, start_time, end_time, teacher_id, student_id))"
                " FROM class_sessions WHERE status <> 'CANCELLED'"
            )
        ).scalar_one()
    assert dupes == 0


def test_16_processes_started_together_leave_exactly_one_run_s_rows(
    committed_engine: Engine, database_url: str
) -> None:
    workload.build(committed_engine, series=300)
    _processes(database_url, 16, batch=25)
    _assert_exactly_one_run(committed_engine)
    with committed_engine.connect() as conn:
        runs = conn.execute(
            text("SELECT count(*), sum(created) FROM generation_runs WHERE status = 'succeeded'")
        ).one()
    assert runs[0] == 16
    assert runs[1] == len(workload.expected(committed_engine))
    # Each batch locks its series' teachers, students and rooms: verdicts as the rule says.
    assert_verdicts_follow_the_rule(committed_engine)


def test_without_the_lock_the_keys_alone_still_leave_one_run_s_rows(
    committed_engine: Engine, database_url: str
) -> None:
    workload.build(committed_engine, series=300)
    _processes(database_url, 8, batch=20, use_lock=False)
    _assert_exactly_one_run(committed_engine)


def test_16_threads_leave_exactly_one_run_s_rows(committed_engine: Engine) -> None:
    workload.build(committed_engine, series=300)
    with ThreadPoolExecutor(16) as pool:
        results = list(
            pool.map(
                lambda _: job.run(
                    committed_engine, trigger=RunTrigger.SCHEDULE, scope=_scope(), batch_size=25
                ),
                range(16),
            )
        )
    _assert_exactly_one_run(committed_engine)
    assert sum(r.counts.created for r in results) == len(workload.expected(committed_engine))
    assert_verdicts_follow_the_rule(committed_engine)


def test_running_again_and_again_changes_nothing(committed_engine: Engine) -> None:
    workload.build(committed_engine, series=100)
    first = job.run(committed_engine, trigger=RunTrigger.CLI, scope=_scope())
    for _ in range(3):
        again = job.run(committed_engine, trigger=RunTrigger.CLI, scope=_scope())
        assert again.counts.created == 0
        assert again.counts.series_done == 0
    assert first.counts.created == len(workload.expected(committed_engine))
    _assert_exactly_one_run(committed_engine)


def _slow_worker(url: str) -> None:
    engine = create_engine(url)
    job.run(engine, trigger=RunTrigger.SCHEDULE, scope=_scope(), batch_size=5)


def test_a_generator_killed_mid_run_leaves_a_consistent_database(
    committed_engine: Engine, database_url: str
) -> None:
    workload.build(committed_engine, series=600)
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_slow_worker, args=(database_url,))
    proc.start()
    deadline = time.monotonic() + 60
    count = 0
    while time.monotonic() < deadline:
        count = len(workload.actual(committed_engine))
        if count > 0:
            break
        time.sleep(0.01)
    assert proc.pid is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    assert proc.exitcode == -signal.SIGKILL
    rows = workload.actual(committed_engine)
    assert 0 < len(rows) < len(workload.expected(committed_engine)), "killed too late"
    # Consistent: each batch committed whole, so a series has rows exactly through its
    # watermark, and the rest has none.
    with committed_engine.connect() as conn:
        bad = conn.execute(
            text(
                "SELECT count(*) FROM class_sessions s JOIN class_series cs ON cs.id = s.series_id"
                " WHERE cs.generated_through IS NULL OR s.original_date > cs.generated_through"
            )
        ).scalar_one()
    assert bad == 0
    again = job.run(committed_engine, trigger=RunTrigger.CLI, scope=_scope())
    assert again.counts.skipped_existing == 0
    _assert_exactly_one_run(committed_engine)
    with committed_engine.connect() as conn:
        statuses = [
            r[0] for r in conn.execute(text("SELECT status FROM generation_runs ORDER BY id"))
        ]
    assert statuses == ["abandoned", "succeeded"]


def test_a_batch_that_loses_the_race_counts_and_audits_what_the_winner_made(
    committed_engine: Engine,
) -> None:
    # Without the locks, B's statement cannot see A's uncommitted rows: its insert waits
    # for A, then ON CONFLICT skips them all. Those lost rows are "already exists" for B,
    # audited and counted, never silently dropped.
    workload.build(committed_engine, series=20)
    scope = _scope().pinned()
    with session_scope(committed_engine) as s:
        runs = [
            generation.start_run(s, trigger=RunTrigger.CLI, scope=scope, actor=SYSTEM).id
            for _ in range(2)
        ]
        ids = [i for _, i in generation.pending_series(s, scope, after=generation.START, limit=50)]

    def batch(s: Session, run_id: int) -> RunCounts:
        return generation.generate_batch(
            s,
            series_ids=ids,
            scope=scope,
            run_id=run_id,
            actor=generation.generator_actor(run_id),
            use_lock=False,
        )

    def loser() -> RunCounts:
        with session_scope(committed_engine) as s:
            return batch(s, runs[1])

    with ThreadPoolExecutor(1) as pool, session_scope(committed_engine) as a:
        won = batch(a, runs[0])
        lost_future = pool.submit(loser)
        deadline = time.monotonic() + 30
        while not _waiting_for_a_lock(committed_engine):
            assert time.monotonic() < deadline, "B never waited for A's rows"
            time.sleep(0.05)
        a.commit()
        lost = lost_future.result(timeout=60)
    assert won.created > 0
    assert lost.created == 0
    assert lost.skipped_existing == won.created
    with committed_engine.connect() as conn:
        audited = conn.execute(
            text(
                "SELECT count(*) FROM audit_events WHERE run_id = :r"
                " AND action = 'occurrence.skipped_existing'"
            ),
            {"r": runs[1]},
        ).scalar_one()
    assert audited == won.created


def _waiting_for_a_lock(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND query LIKE '%WITH s AS (%'"
                )
            ).scalar_one()
        )
