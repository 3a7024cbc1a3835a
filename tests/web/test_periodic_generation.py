"""`komawari serve` runs generation on a schedule."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from komawari.web.app import create_app


def test_the_server_generates_on_a_schedule(committed_engine: Engine) -> None:
    app = create_app(committed_engine, periodic=True)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        deadline = time.monotonic() + 30
        runs = 0
        while time.monotonic() < deadline and not runs:
            with committed_engine.connect() as conn:
                runs = conn.execute(
                    text(
                        "SELECT count(*) FROM generation_runs"
                        " WHERE trigger = 'schedule' AND status = 'succeeded'"
                    )
                ).scalar_one()
            time.sleep(0.1)
    assert runs == 1


def test_the_schedule_can_be_turned_off(committed_engine: Engine) -> None:
    with TestClient(create_app(committed_engine, periodic=False)) as client:
        assert client.get("/healthz").status_code == 200
        time.sleep(0.5)
    with committed_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM generation_runs")).scalar_one() == 0
