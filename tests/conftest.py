"""Test databases: real PostgreSQL built by the migrations, never a mock.

With KOMAWARI_TEST_DATABASE_URL (a server URL, e.g. postgresql://postgres@127.0.0.1:5432/test)
the suite creates a fresh database on that server; without it, on an embedded server in a
temporary folder. Each test runs in a transaction rolled back at the end, except tests
that take `committed_engine`, whose data is really committed and truncated afterwards.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from komawari.db import guards, migrate
from komawari.db.engine import normalise_url
from komawari.db.registry import Base
from komawari.web.app import create_app
from tests.factories.world import World, free_port, make_world

# CI explores the same examples every run (a red build names a reproducible case); a
# developer's machine explores new ones each time.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# CI runs the suite twice at once, on the embedded database and on the local server
# (KOMAWARI_CI_SUITE names which); a test that does not depend on the database it is
# given (a walk through the docs, a short soak, the embedded server's own lifecycle) is
# marked ci_suite(name) and runs in that suite only. Outside CI every test runs.
CI_SUITE = os.environ.get("KOMAWARI_CI_SUITE")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not CI_SUITE:
        return
    for item in items:
        marker = item.get_closest_marker("ci_suite")
        if marker is not None and marker.args[0] != CI_SUITE:
            item.add_marker(pytest.mark.skip(reason=f"CI runs it in its {marker.args[0]} suite"))


def _server_url() -> tuple[str, tempfile.TemporaryDirectory[str] | None]:
    external = os.environ.get("KOMAWARI_TEST_DATABASE_URL")
    if external:
        return normalise_url(external), None
    from komawari.db.embedded import embedded_url

    folder = tempfile.TemporaryDirectory(prefix="komawari-test-")
    return embedded_url(Path(folder.name) / "pgdata", cleanup="delete"), folder


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """Create a fresh database for this test run, migrated to head; drop it afterwards."""
    server, folder = _server_url()
    name = f"komawari_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    os.environ["KOMAWARI_TEST_DATABASE_NAME"] = name
    yield url
    with admin.connect() as conn:
        conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()
    if folder is not None:
        from komawari.db.embedded import stop_embedded

        stop_embedded(Path(folder.name) / "pgdata")  # stop the server before its folder goes
        folder.cleanup()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = create_engine(database_url, pool_size=20, max_overflow=20)
    yield eng
    eng.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    conn = engine.connect()
    outer = conn.begin()
    session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        conn.close()


def truncate_all(engine: Engine) -> None:
    """Empty every table and restart the ids."""
    tables = ", ".join(
        [f'"{t.name}"' for t in Base.metadata.sorted_tables]
        + [f"procrastinate_{t}" for t in ("events", "periodic_defers", "jobs", "workers")]
    )
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def committed_engine(engine: Engine) -> Iterator[Engine]:
    """The engine for tests that commit for real (concurrency); tables emptied afterwards."""
    truncate_all(engine)
    yield engine
    truncate_all(engine)
    schema_restore_guards(engine)


def schema_restore_guards(engine: Engine) -> None:
    """Re-create any guard a test dropped, so later tests see the full schema."""
    states = guards.guard_states(engine)
    with engine.begin() as conn:
        for guard in guards.GUARDS:
            if states[guard.name] != "ok":
                conn.execute(text(guard.ddl))


# The application on real PostgreSQL (committed data, emptied after each test).


@pytest.fixture
def app(committed_engine: Engine) -> FastAPI:
    return create_app(committed_engine, periodic=False)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def world(committed_engine: Engine) -> World:
    return make_world(committed_engine)


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[str]:
    """Serve the app with uvicorn on a free loopback port; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
