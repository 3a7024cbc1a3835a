"""`komawari serve` runs a job worker: generation runs on its schedule, once per tick."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from komawari import config
from komawari.web.app import create_app


@pytest.fixture
def every_two_seconds(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Generation's schedule: every two seconds (cron's sixth field is seconds)."""
    monkeypatch.setenv("KOMAWARI_GENERATION_CRON", "* * * * * */2")
    config.get_settings.cache_clear()
    yield
    config.get_settings.cache_clear()


def _runs(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM generation_runs"
                    " WHERE trigger = 'schedule' AND status = 'succeeded'"
                )
            ).scalar_one()
        )


def test_the_servers_worker_generates_on_the_schedule(
    committed_engine: Engine, every_two_seconds: None
) -> None:
    app = create_app(committed_engine, periodic=True)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _runs(committed_engine) < 2:
            time.sleep(0.1)
    assert _runs(committed_engine) >= 2, "a run on each tick"


def test_the_schedule_can_be_turned_off(committed_engine: Engine) -> None:
    with TestClient(create_app(committed_engine, periodic=False)) as client:
        assert client.get("/healthz").status_code == 200
        time.sleep(0.5)
    with committed_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM generation_runs")).scalar_one() == 0


def test_a_starting_worker_generates_without_waiting_for_the_tick(
    committed_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOMAWARI_GENERATION_CRON", "0 3 1 1 *")  # once a year
    config.get_settings.cache_clear()
    try:
        with TestClient(create_app(committed_engine, periodic=True)) as client:
            assert client.get("/healthz").status_code == 200
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and _runs(committed_engine) == 0:
                time.sleep(0.1)
    finally:
        config.get_settings.cache_clear()
    assert _runs(committed_engine) == 1
