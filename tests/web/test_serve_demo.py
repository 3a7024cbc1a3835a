"""`komawari serve --demo`: the demo school, its URL and a working demo admin token."""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from komawari import config
from komawari.cli.main import app as cli
from komawari.db import engine as db
from komawari.web.app import create_app
from komawari.web.cli import demo_admin_token
from tests.factories.world import bearer


@pytest.fixture
def cli_db(committed_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the CLI at the test database."""
    monkeypatch.setenv("DATABASE_URL", committed_engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("KOMAWARI_GENERATION_INTERVAL_MINUTES", "0")
    config.get_settings.cache_clear()
    db.get_engine.cache_clear()
    yield
    db.get_engine().dispose()
    config.get_settings.cache_clear()
    db.get_engine.cache_clear()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_demo_prints_the_url_and_a_token_that_works(
    cli_db: None, committed_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    port = free_port()
    result = CliRunner().invoke(cli, ["serve", "--demo", "--port", str(port)])
    assert result.exit_code == 0, result.output
    assert f"http://127.0.0.1:{port}/" in result.output
    assert served["port"] == port
    [token] = set(re.findall(r"kmw_[\w-]{20,}", result.output))
    with TestClient(create_app(committed_engine, periodic=False)) as client:
        me = client.get("/api/me", headers=bearer(token)).json()
        assert (me["username"], me["role"]) == ("demo-admin", "admin")
        branches = client.get("/api/branches", headers=bearer(token)).json()["items"]
        assert [b["name"] for b in branches] == ["Shibuya", "Yokohama"]


def test_each_start_revokes_the_previous_demo_token(committed_engine: Engine) -> None:
    first = demo_admin_token(committed_engine)
    second = demo_admin_token(committed_engine)
    with TestClient(create_app(committed_engine, periodic=False)) as client:
        assert client.get("/api/me", headers=bearer(first)).status_code == 401
        assert client.get("/api/me", headers=bearer(second)).status_code == 200


def test_the_server_keeps_an_idle_connection_open_longer_than_clients_do(
    cli_db: None, committed_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # httpx drops an idle connection after 5 s; a server closing at the same 5 s races a
    # client sending on it, which then loses its request without an answer.
    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    port = free_port()
    result = CliRunner().invoke(cli, ["serve", "--port", str(port), "--workers", "1"])
    assert result.exit_code == 0, result.output
    options = {k: v for k, v in served.items() if k not in {"app", "log_level"}}
    server = uvicorn.Server(uvicorn.Config(served["app"], log_level="warning", **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive(), "the server stopped"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/healthz")
        assert connection.getresponse().read()
        time.sleep(6)  # idle for longer than httpx keeps a connection
        connection.request("GET", "/healthz")  # on the same socket: no reconnect
        answer = connection.getresponse()
        assert answer.status == 200
        connection.close()
    finally:
        server.should_exit = True
        thread.join(10)
