"""The generation job: bounded retries of lost races, failed and abandoned run records."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from komawari.audit.service import SYSTEM
from komawari.db.engine import session_scope
from komawari.generation import job
from komawari.generation import service as generation
from komawari.generation.enums import RunStatus, RunTrigger
from komawari.generation.models import GenerationRun
from tests.factories import generation as workload


class Flaky:
    """A batch that PostgreSQL fails with `sqlstate` (naming `constraint`) its first times."""

    def __init__(
        self, engine: Engine, sqlstate: str, *, failures: int, constraint: str = "x"
    ) -> None:
        self.engine, self.sqlstate, self.failures, self.constraint = (
            engine,
            sqlstate,
            failures,
            constraint,
        )
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        with session_scope(self.engine) as s:
            if self.calls <= self.failures:
                s.execute(
                    text(
                        "DO $$ BEGIN RAISE EXCEPTION 'lost' USING"
                        f" ERRCODE = '{self.sqlstate}', CONSTRAINT = '{self.constraint}'; END $$"
                    )
                )
        return self.calls


@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
def test_a_batch_that_loses_a_serialization_race_or_a_deadlock_is_done_again(
    engine: Engine, sqlstate: str
) -> None:
    batch = Flaky(engine, sqlstate, failures=2)
    assert job.with_retry(batch) == 3


def test_a_lesson_lost_to_a_concurrent_writer_is_retried_other_unique_errors_are_not(
    engine: Engine,
) -> None:
    lost = Flaky(engine, "23505", failures=1, constraint="ux_class_sessions_unique_1on1")
    assert job.with_retry(lost) == 2
    other = Flaky(engine, "23505", failures=1, constraint="ux_something_else")
    with pytest.raises(DBAPIError):
        job.with_retry(other)
    assert other.calls == 1


def test_any_other_error_fails_the_batch_at_once(engine: Engine) -> None:
    batch = Flaky(engine, "23514", failures=1)
    with pytest.raises(DBAPIError):
        job.with_retry(batch)
    assert batch.calls == 1


def test_retries_are_bounded(engine: Engine) -> None:
    batch = Flaky(engine, "40001", failures=99)
    with pytest.raises(DBAPIError):
        job.with_retry(batch, attempts=3)
    assert batch.calls == 3


def test_a_failed_run_is_recorded_with_its_error_and_the_next_run_goes_on(
    committed_engine: Engine,
) -> None:
    workload.build(committed_engine, series=3)
    # A horizon beyond PostgreSQL's int makes the first batch fail inside the database.
    broken = generation.Scope(now=workload.NOW, horizon_days=2**40)
    with pytest.raises(DBAPIError):
        job.run(committed_engine, trigger=RunTrigger.CLI, scope=broken)
    good = generation.Scope(now=workload.NOW, horizon_days=workload.HORIZON)
    done = job.run(committed_engine, trigger=RunTrigger.CLI, scope=good)
    assert done.counts.created == len(workload.expected(committed_engine))
    with committed_engine.connect() as conn:
        runs = conn.execute(text("SELECT status, error FROM generation_runs ORDER BY id")).all()
    assert [r.status for r in runs] == ["failed", "succeeded"]
    assert runs[0].error.startswith("DataError: ")
    assert runs[1].error is None


def test_only_this_host_s_runs_whose_process_is_gone_are_marked_abandoned(db: Session) -> None:
    ended = subprocess.Popen(["true"])
    ended.wait()

    def running(pid: int | None, host: str = socket.gethostname()) -> int:
        run = generation.start_run(
            db, trigger=RunTrigger.SCHEDULE, scope=generation.Scope(), actor=SYSTEM
        )
        run.pid, run.host = pid, host
        db.flush()
        return run.id

    alive = running(os.getpid())
    dead = running(ended.pid)
    unknown = running(None)
    elsewhere = running(ended.pid, host="another-host")
    assert job.mark_abandoned(db) == 2
    db.expire_all()
    status = {r.id: r.status for r in db.execute(select(GenerationRun.id, GenerationRun.status))}
    assert status[alive] == RunStatus.RUNNING
    assert status[dead] == status[unknown] == RunStatus.ABANDONED
    assert status[elsewhere] == RunStatus.RUNNING
