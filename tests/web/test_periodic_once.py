"""The periodic generation runs once per deployment: PostgreSQL picks the leading worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
from sqlalchemy import Engine, text

from komawari.web.app import still_leads, stop_leading, try_to_lead
from tests.factories.world import free_port


def test_one_worker_leads_and_a_dead_leader_s_turn_passes_on(committed_engine: Engine) -> None:
    leader = try_to_lead(committed_engine)
    assert leader is not None
    assert try_to_lead(committed_engine) is None, "a second worker does not lead"
    assert still_leads(leader)
    with committed_engine.connect() as conn:  # the leading process dies: its backend ends
        pid = leader.execute(text("SELECT pg_backend_pid()")).scalar_one()
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    assert not still_leads(leader)
    stop_leading(leader)
    successor = try_to_lead(committed_engine)
    assert successor is not None
    stop_leading(successor)
    again = try_to_lead(committed_engine)
    assert again is not None, "giving the lead up releases the lock"
    stop_leading(again)


def _runs(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM generation_runs WHERE trigger = 'schedule'")
            ).scalar_one()
        )


def test_serve_with_workers_generates_once(committed_engine: Engine) -> None:
    port = free_port()
    url = committed_engine.url.render_as_string(hide_password=False)
    env = os.environ | {"DATABASE_URL": url, "KOMAWARI_GENERATION_INTERVAL_MINUTES": "60"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "komawari.cli.main", "serve", "--port", str(port),
         "--workers", "3"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and _runs(committed_engine) == 0:
            time.sleep(0.2)
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        assert ready.status_code == 200
        time.sleep(3)  # every worker has started its periodic job by now
        assert _runs(committed_engine) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output[-2000:]
    assert output.count("Application startup complete") == 3
    assert "Traceback" not in output
