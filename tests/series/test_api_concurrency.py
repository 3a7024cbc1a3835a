"""Retries and double submits over real HTTP: 20 parallel requests, each its own transaction."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import Engine, func, select

from komawari.db.engine import session_scope
from komawari.series.models import ClassSeries
from komawari.sessions.models import ClassSession
from tests.factories.world import World, bearer, series_body

pytestmark = pytest.mark.concurrency
N = 20


def _at_once(base_url: str, send: Callable[[httpx.Client], httpx.Response]) -> list[httpx.Response]:
    """Send N requests from N threads, released together by a barrier; check they overlapped."""
    barrier = threading.Barrier(N)
    spans: list[tuple[float, float]] = []

    def one(_: int) -> httpx.Response:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            client.get("/healthz")  # connect before the barrier, so all start together
            barrier.wait()
            started = time.monotonic()
            response = send(client)
            spans.append((started, time.monotonic()))
            return response

    with ThreadPoolExecutor(N) as pool:
        responses = list(pool.map(one, range(N)))
    first_answer = min(end for _, end in spans)
    in_flight = sum(1 for start, _ in spans if start < first_answer)
    assert in_flight >= N // 2, f"only {in_flight} requests were in flight together"
    return responses


def _series_count(engine: Engine) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(ClassSeries)) or 0


def test_twenty_identical_posts_at_once_give_one_201_and_nineteen_409s_naming_it(
    live_server: str, world: World, committed_engine: Engine
) -> None:
    body = series_body(world)
    responses = _at_once(
        live_server,
        lambda c: c.post("/api/class-series", json=body, headers=bearer(world.admin)),
    )
    created = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code == 409]
    assert len(created) == 1, [r.status_code for r in responses]
    assert len(refused) == N - 1
    first = created[0].json()["id"]
    for r in refused:
        problem = r.json()
        assert r.headers["content-type"] == "application/problem+json"
        assert problem["type"] == "/problems/duplicate-series"
        assert problem["existing_series_id"] == first
        assert problem["existing_series_url"] == f"/api/class-series/{first}"
    assert _series_count(committed_engine) == 1
    with session_scope(committed_engine) as s:
        sessions = s.scalar(select(func.count()).select_from(ClassSession))
    assert sessions == created[0].json()["generation"]["created"] > 0


def test_twenty_posts_one_after_another_with_one_key_give_twenty_identical_answers(
    live_server: str, world: World, committed_engine: Engine
) -> None:
    headers = {**bearer(world.admin), "Idempotency-Key": "retry-1"}
    with httpx.Client(base_url=live_server, timeout=60) as client:
        responses = [
            client.post("/api/class-series", json=series_body(world), headers=headers)
            for _ in range(N)
        ]
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1  # byte for byte the first answer
    assert all(r.headers.get("idempotent-replayed") == "true" for r in responses[1:])
    assert _series_count(committed_engine) == 1


def test_twenty_posts_at_once_with_one_key_give_the_201_or_409_in_progress(
    live_server: str, world: World, committed_engine: Engine
) -> None:
    headers = {**bearer(world.admin), "Idempotency-Key": "double-submit"}
    body = series_body(world)
    responses = _at_once(
        live_server, lambda c: c.post("/api/class-series", json=body, headers=headers)
    )
    created = [r for r in responses if r.status_code == 201]
    in_progress = [r for r in responses if r.status_code == 409]
    assert len(created) + len(in_progress) == N, [r.status_code for r in responses]
    assert created, "the request that claimed the key answers 201"
    assert len({r.content for r in created}) == 1
    for r in in_progress:
        assert r.json()["type"] == "/problems/idempotency-in-progress"
    assert _series_count(committed_engine) == 1
    # Once the first answered, a retry gets that answer.
    with httpx.Client(base_url=live_server, timeout=60) as client:
        again = client.post("/api/class-series", json=body, headers=headers)
    assert again.status_code == 201
    assert again.content == created[0].content
