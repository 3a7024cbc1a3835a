"""Idempotency-Key: replay, reuse with another body, in progress, expiry, 5xx release, scope."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from komawari.db.engine import session_scope
from komawari.series import service as series_service
from tests.factories.world import World, bearer, counts, series_body


def _post(client: TestClient, token: str, key: str, body: dict[str, object]) -> httpx.Response:
    return client.post(
        "/api/class-series", json=body, headers={**bearer(token), "Idempotency-Key": key}
    )


def test_the_same_key_and_body_get_the_first_answer_again(client: TestClient, world: World) -> None:
    first = _post(client, world.admin, "k-1", series_body(world))
    again = _post(client, world.admin, "k-1", series_body(world))
    assert first.status_code == again.status_code == 201
    assert first.content == again.content
    assert again.headers["idempotent-replayed"] == "true"


def test_json_formatting_does_not_make_a_different_request(
    client: TestClient, world: World
) -> None:
    body = series_body(world)
    headers = {**bearer(world.admin), "Idempotency-Key": "k-fmt"}
    first = client.post("/api/class-series", json=body, headers=headers)
    spaced = json.dumps(dict(reversed(list(body.items()))), indent=2)
    again = client.post(
        "/api/class-series",
        content=spaced,
        headers={**headers, "Content-Type": "application/json"},
    )
    assert again.status_code == 201
    assert again.content == first.content


def test_the_same_key_with_another_body_is_422_and_changes_nothing(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    _post(client, world.admin, "k-2", series_body(world))
    before = counts(committed_engine)
    other = _post(client, world.admin, "k-2", series_body(world, student_id=world.student_2))
    assert other.status_code == 422
    problem = other.json()
    assert problem["type"] == "/problems/idempotency-key-reused"
    assert problem["field"] == "Idempotency-Key"
    assert counts(committed_engine) == before


def test_a_key_whose_first_request_is_running_is_409(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    from sqlalchemy.orm import Session

    from komawari.auth import idempotency

    with Session(committed_engine) as running:  # an in-flight request holds the key's lock
        scope = f"user:{_user_id(committed_engine, 'admin')}"
        assert idempotency.try_lock(running, scope=scope, key="busy")
        busy = _post(client, world.admin, "busy", series_body(world))
        assert busy.status_code == 409
        assert busy.json()["type"] == "/problems/idempotency-in-progress"
        running.rollback()
    assert _post(client, world.admin, "busy", series_body(world)).status_code == 201


def test_a_claim_whose_request_died_is_taken_over(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    from komawari.auth.idempotency import fingerprint

    body = series_body(world)
    raw = json.dumps(body).encode()
    with session_scope(committed_engine) as s:  # claimed, never answered, nobody running it
        s.execute(
            text(
                "INSERT INTO idempotency_keys (scope, key, method, path, request_hash)"
                " VALUES (:scope, 'orphan', 'POST', '/api/class-series', :hash)"
            ),
            {
                "scope": f"user:{_user_id(committed_engine, 'admin')}",
                "hash": fingerprint("POST", "/api/class-series", "", raw),
            },
        )
    first = _post(client, world.admin, "orphan", body)
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    again = _post(client, world.admin, "orphan", body)
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"


def _user_id(engine: Engine, name: str) -> int:
    with session_scope(engine) as s:
        return int(
            s.execute(text("SELECT id FROM users WHERE username = :n"), {"n": name}).scalar_one()
        )


def test_keys_expire_after_24_hours(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    _post(client, world.admin, "k-old", series_body(world))
    with session_scope(committed_engine) as s:
        s.execute(text("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'"))
    fresh = _post(client, world.admin, "k-old", series_body(world, student_id=world.student_2))
    assert fresh.status_code == 201
    assert "idempotent-replayed" not in fresh.headers


def test_a_4xx_answer_is_stored_and_replayed(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    created = _post(client, world.admin, "k-a", series_body(world)).json()
    refused = _post(client, world.admin, "k-b", series_body(world))
    assert refused.status_code == 409
    # The duplicate steps aside; the stored answer to k-b stays what it was.
    client.post(f"/api/class-series/{created['id']}/pause", json={}, headers=bearer(world.admin))
    replayed = _post(client, world.admin, "k-b", series_body(world))
    assert replayed.status_code == 409
    assert replayed.content == refused.content
    assert counts(committed_engine)["series"] == 1


def test_a_validation_error_is_stored_too(client: TestClient, world: World) -> None:
    bad = series_body(world, weekdays=["funday"])
    first = _post(client, world.admin, "k-bad", bad)
    again = _post(client, world.admin, "k-bad", bad)
    assert first.status_code == again.status_code == 422
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content


def test_a_5xx_releases_the_key_so_a_retry_runs(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch, committed_engine: Engine
) -> None:
    real = series_service.create
    calls = {"n": 0}

    def flaky(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the disk is on fire")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(series_service, "create", flaky)
    failed = _post(client, world.admin, "k-5xx", series_body(world))
    assert failed.status_code == 500
    problem = failed.json()
    assert problem["type"] == "/problems/internal"
    assert "fire" not in failed.text
    assert "Traceback" not in failed.text
    assert counts(committed_engine)["series"] == 0
    retried = _post(client, world.admin, "k-5xx", series_body(world))
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers


def test_keys_are_scoped_to_the_caller(client: TestClient, world: World) -> None:
    mine = _post(client, world.admin, "shared-key", series_body(world))
    theirs = _post(
        client, world.staff_a, "shared-key", series_body(world, student_id=world.student_2)
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


@pytest.mark.parametrize("key", ["x" * 256, "has space", ""])
def test_a_malformed_key_is_422_naming_the_header(
    client: TestClient, world: World, key: str
) -> None:
    response = _post(client, world.admin, key, series_body(world))
    assert response.status_code == 422
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == ["Idempotency-Key"]
