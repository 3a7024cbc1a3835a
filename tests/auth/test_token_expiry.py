"""Tokens may expire: an expired token is 401 saying so; the CLI takes --expires-in."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from komawari.audit.service import Actor
from komawari.auth import service as auth
from komawari.auth.cli import parse_lifetime
from komawari.auth.enums import Role
from komawari.db.engine import session_scope
from tests.cli.conftest import komawari
from tests.factories.world import World, bearer

__all__ = ["komawari"]
Run = Callable[..., Any]


def _token(engine: Engine, lifetime: timedelta) -> str:
    with session_scope(engine) as s:
        user, _ = auth.ensure_user(s, username="expiring", role=Role.ADMIN, actor=Actor.cli())
        return auth.create_token(s, user=user, name="t", actor=Actor.cli(), expires_in=lifetime)[1]


def test_an_expired_token_is_401_saying_it_expired(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    fresh = _token(committed_engine, timedelta(days=90))
    assert client.get("/api/me", headers=bearer(fresh)).status_code == 200
    stale = _token(committed_engine, timedelta(seconds=-1))
    answer = client.get("/api/me", headers=bearer(stale))
    assert answer.status_code == 401
    assert "the API token expired at" in answer.json()["detail"]


def test_token_create_takes_a_lifetime_and_names_a_bad_one(komawari: Run) -> None:
    made = komawari(
        "token", "create", "--user", "ops", "--role", "admin", "--expires-in", "90d", "--json"
    )
    assert made.exit_code == 0, made.output
    expires = datetime.fromisoformat(json.loads(made.output)["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=90))) < timedelta(minutes=5)
    forever = komawari("token", "create", "--user", "ops", "--json")
    assert json.loads(forever.output)["expires_at"] is None
    bad = komawari("token", "create", "--user", "ops", "--expires-in", "5y")
    assert bad.exit_code == 2
    assert "--expires-in" in bad.output
    assert "'5y' is not a lifetime" in bad.output


@pytest.mark.parametrize("value", ["0d", "-3d", "90", "1.5w", "999999d"])
def test_a_lifetime_is_a_positive_count_of_hours_days_or_weeks(value: str) -> None:
    with pytest.raises(ValueError, match="is not a lifetime"):
        parse_lifetime(value)
