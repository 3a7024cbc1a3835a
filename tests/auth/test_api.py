"""Tokens and roles: 401 explains itself, teachers read their own sessions, writes audited."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from typer.testing import CliRunner

from komawari import config
from komawari.audit.models import AuditEvent
from komawari.audit.service import Actor
from komawari.auth import service as auth
from komawari.cli.main import app as cli
from komawari.db import engine as db
from komawari.db.engine import session_scope
from komawari.errors import Unauthorized
from tests.factories.world import World, bearer, series_body


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "send an API token"),
        ({"Authorization": "Basic dXNlcjpwdw=="}, "send an API token"),
        ({"Authorization": "Bearer kmw_not-a-real-token"}, "not valid"),
    ],
)
def test_a_call_without_a_valid_token_is_401_saying_why(
    client: TestClient, world: World, headers: dict[str, str], detail: str
) -> None:
    response = client.get("/api/class-series", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"
    assert detail in response.json()["detail"]


def test_health_and_the_openapi_need_no_token(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    spec = client.get("/api/openapi.json").json()
    assert spec["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    assert client.get("/docs").status_code == 200


def test_a_revoked_token_stops_working_at_once(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    assert client.get("/api/me", headers=bearer(world.admin)).status_code == 200
    with session_scope(committed_engine) as s:
        token_id = s.execute(
            text(
                "SELECT t.id FROM api_tokens t JOIN users u ON u.id = t.user_id"
                " WHERE u.username = 'admin'"
            )
        ).scalar_one()
        auth.revoke_token(s, token_id, actor=Actor("test", "t"))
    response = client.get("/api/me", headers=bearer(world.admin))
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_tokens_are_stored_hashed(world: World, committed_engine: Engine) -> None:
    with session_scope(committed_engine) as s:
        stored = list(s.execute(text("SELECT token_hash, prefix FROM api_tokens")))
    assert all(world.admin not in (h, p) for h, p in stored)
    assert auth.hash_secret(world.admin) in {h for h, _ in stored}


def test_a_teacher_reads_their_own_sessions_only(client: TestClient, world: World) -> None:
    admin = bearer(world.admin)
    mine = client.post("/api/class-series", json=series_body(world), headers=admin).json()
    other = client.post(
        "/api/class-series",
        json=series_body(world, teacher_id=world.teacher_2, student_id=world.student_2),
        headers=admin,
    ).json()
    assert mine["generation"]["created"] > 0
    assert other["generation"]["created"] > 0
    teacher = bearer(world.teacher)
    listed = client.get("/api/class-sessions", headers=teacher).json()["items"]
    assert listed
    assert {s["teacher_id"] for s in listed} == {world.teacher_1}
    theirs = client.get(f"/api/class-sessions?teacher_id={world.teacher_2}", headers=admin).json()[
        "items"
    ]
    assert client.get(f"/api/class-sessions/{theirs[0]['id']}", headers=teacher).status_code == 404
    assert client.get(f"/api/class-sessions/{listed[0]['id']}", headers=teacher).status_code == 200
    cancel = client.post(
        f"/api/class-sessions/{listed[0]['id']}/cancel", json={"reason": "x"}, headers=teacher
    )
    assert cancel.status_code == 403
    assert client.get("/api/class-series", headers=teacher).status_code == 403


def test_every_write_is_audited_with_the_user_and_the_token(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    created = client.post(
        "/api/class-series", json=series_body(world), headers=bearer(world.staff_a)
    )
    assert created.status_code == 201
    with session_scope(committed_engine) as s:
        token_id = s.execute(
            text("SELECT id FROM api_tokens ORDER BY id OFFSET 1 LIMIT 1")
        ).scalar()
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "series.create")).one()
    assert event.actor_type == "token"
    assert event.actor == f"user:staff-a token:{token_id}"
    assert event.details["token_id"] == token_id
    events = client.get(
        "/api/audit/events?action=series.create", headers=bearer(world.admin)
    ).json()["items"]
    assert [e["actor"] for e in events] == [f"user:staff-a token:{token_id}"]


@pytest.fixture
def cli_db(committed_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the CLI at the test database."""
    monkeypatch.setenv("DATABASE_URL", committed_engine.url.render_as_string(hide_password=False))
    config.get_settings.cache_clear()
    db.get_engine.cache_clear()
    yield
    db.get_engine().dispose()
    config.get_settings.cache_clear()
    db.get_engine.cache_clear()


def test_token_create_list_and_revoke_from_the_cli(
    cli_db: None, client: TestClient, world: World
) -> None:
    runner = CliRunner()
    made = runner.invoke(
        cli,
        [
            "token",
            "create",
            "--user",
            "hana",
            "--role",
            "staff",
            "--branch",
            str(world.branch_a),
            "--json",
        ],
    )
    assert made.exit_code == 0, made.output
    info = json.loads(made.output)
    assert info["user_created"] is True
    assert info["branch_ids"] == [world.branch_a]
    me = client.get("/api/me", headers=bearer(info["token"])).json()
    assert (me["username"], me["role"], me["branch_ids"]) == ("hana", "staff", [world.branch_a])
    listed = json.loads(runner.invoke(cli, ["token", "list", "--json"]).output)
    assert info["token"] not in json.dumps(listed)
    assert info["token_id"] in [t["id"] for t in listed]
    revoked = runner.invoke(cli, ["token", "revoke", str(info["token_id"])])
    assert revoked.exit_code == 0, revoked.output
    assert client.get("/api/me", headers=bearer(info["token"])).status_code == 401
    missing_role = runner.invoke(cli, ["token", "create", "--user", "nobody"])
    assert missing_role.exit_code == 2
    assert "role" in missing_role.output


def test_feed_keys_users_and_passwords_from_the_cli(
    cli_db: None, client: TestClient, world: World, committed_engine: Engine
) -> None:
    runner = CliRunner()
    made = runner.invoke(cli, ["token", "feed", "--teacher", str(world.teacher_1)])
    assert made.exit_code == 0, made.output
    url = made.output.strip().splitlines()[-1]
    assert url.startswith(f"http://127.0.0.1:8000/calendar/teachers/{world.teacher_1}.ics?key=")
    assert client.get(url.removeprefix("http://127.0.0.1:8000")).status_code == 200
    users = json.loads(runner.invoke(cli, ["user", "list", "--json"]).output)
    assert {u["user"] for u in users} == {"admin", "staff-a", "teacher-1"}
    set_pw = runner.invoke(
        cli, ["token", "password", "--user", "admin"], input="correct horse battery\n" * 2
    )
    assert set_pw.exit_code == 0, set_pw.output
    with session_scope(committed_engine) as s:
        assert auth.verify_password(s, username="admin", password="correct horse battery")
        with pytest.raises(Unauthorized):
            auth.verify_password(s, username="admin", password="wrong")
        stored = s.execute(text("SELECT password_hash FROM users WHERE username = 'admin'"))
        assert stored.scalar_one().startswith("$argon2")
