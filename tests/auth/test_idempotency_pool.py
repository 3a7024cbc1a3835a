"""Keyed POSTs in parallel on the production pool: none waits on a second connection."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, create_engine

from komawari.db.engine import make_engine
from komawari.web.app import create_app
from tests.factories.world import World, bearer, next_weekday

PARALLEL = 30


@pytest.fixture
def app(committed_engine: Engine, database_url: str) -> Iterator[FastAPI]:
    """The app on an engine made as `serve` makes it (the default pool, not the tests')."""
    engine = make_engine(database_url)
    yield create_app(engine, periodic=False)
    engine.dispose()


def _book(base: str, token: str, world: World, n: int) -> int:
    day = next_weekday(1) + timedelta(days=n)
    body = {
        "branch_id": world.branch_a,
        "teacher_id": world.teacher_1,
        "student_id": world.student_1,
        "date": day.isoformat(),
        "start_time": "18:00",
        "end_time": "19:00",
    }
    headers = {**bearer(token), "Idempotency-Key": f"pool-{n}"}
    with httpx.Client(base_url=base, timeout=60) as client:
        return client.post("/api/class-sessions", json=body, headers=headers).status_code


def test_thirty_parallel_keyed_posts_all_succeed_quickly(live_server: str, world: World) -> None:
    started = time.monotonic()
    with ThreadPoolExecutor(PARALLEL) as pool:
        statuses = list(
            pool.map(lambda n: _book(live_server, world.admin, world, n), range(PARALLEL))
        )
    assert statuses == [201] * PARALLEL
    assert time.monotonic() - started < 15


def test_no_free_connection_is_503_with_retry_after(committed_engine: Engine, world: World) -> None:
    from fastapi.testclient import TestClient

    tiny = create_engine(committed_engine.url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    try:
        with tiny.connect(), TestClient(create_app(tiny, periodic=False)) as client:
            answer = client.get("/api/branches", headers=bearer(world.admin))
        assert answer.status_code == 503
        assert answer.headers["retry-after"].isdigit()
        assert answer.json()["type"] == "/problems/unavailable"
    finally:
        tiny.dispose()
