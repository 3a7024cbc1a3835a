"""Each periodic tick runs once per deployment, however many workers: PostgreSQL lets one
worker defer each tick (Procrastinate's periodic defers, unique per task and tick)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.factories.world import free_port

pytestmark = [pytest.mark.concurrency, pytest.mark.slow]
EVERY_TWO_SECONDS = "* * * * * */2"


def _runs(engine: Engine) -> list[float]:
    with engine.connect() as conn:
        return [
            float(t)
            for t in conn.execute(
                text(
                    "SELECT extract(epoch FROM started_at) FROM generation_runs"
                    " WHERE trigger = 'schedule' ORDER BY started_at"
                )
            ).scalars()
        ]


def _ticks_done(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM procrastinate_jobs"
                    " WHERE task_name = 'generation:generate' AND status = 'succeeded'"
                    "   AND args->>'timestamp' <> '0'"
                )
            ).scalar_one()
        )


def _each_tick_ran_once(engine: Engine, runs: list[float]) -> None:
    # Every worker defers every tick it sees; were a tick not unique, most ticks would be
    # several jobs, and several runs. (Timestamp 0: a worker's catch-up as it starts.)
    with engine.connect() as conn:
        jobs, ticks, done = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE args->>'timestamp' <> '0'),"
                "       count(DISTINCT args->>'timestamp')"
                "       FILTER (WHERE args->>'timestamp' <> '0'),"
                "       count(*) FILTER (WHERE status = 'succeeded')"
                "  FROM procrastinate_jobs WHERE task_name = 'generation:generate'"
            )
        ).one()
        every = conn.execute(
            text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'generation:generate'")
        ).scalar_one()
    assert jobs == ticks, (jobs, ticks)
    assert ticks >= 2, "the schedule's ticks ran"
    assert done <= len(runs) <= every, (done, len(runs), every)


def _stop(procs: list[subprocess.Popen[str]]) -> list[str]:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)  # each finishes its running job (30 s at most)
    outputs = [proc.communicate(timeout=120)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * len(procs), outputs[0][-2000:]
    return outputs


def test_eight_workers_run_each_tick_once(committed_engine: Engine) -> None:
    url = committed_engine.url.render_as_string(hide_password=False)
    env = os.environ | {"DATABASE_URL": url, "KOMAWARI_GENERATION_CRON": EVERY_TWO_SECONDS}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "komawari.cli.main", "worker"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(8)
    ]
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _ticks_done(committed_engine) < 3:
            time.sleep(0.2)
    finally:
        outputs = _stop(procs)
    runs = _runs(committed_engine)
    assert len(runs) >= 4, outputs[0][-2000:]
    _each_tick_ran_once(committed_engine, runs)
    for output in outputs:
        assert "Traceback" not in output, output[-2000:]


def test_serve_with_workers_generates_once_per_tick(committed_engine: Engine) -> None:
    port = free_port()
    url = committed_engine.url.render_as_string(hide_password=False)
    env = os.environ | {"DATABASE_URL": url, "KOMAWARI_GENERATION_CRON": EVERY_TWO_SECONDS}
    proc = subprocess.Popen(
        [sys.executable, "-m", "komawari.cli.main", "serve", "--port", str(port),
         "--workers", "3"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and _ticks_done(committed_engine) < 2:
            time.sleep(0.2)
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        assert ready.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    runs = _runs(committed_engine)
    assert len(runs) >= 3, output[-2000:]
    _each_tick_ran_once(committed_engine, runs)
    assert proc.returncode == 0, output[-2000:]
    assert output.count("Application startup complete") == 3
    assert "Traceback" not in output
