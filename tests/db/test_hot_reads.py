"""The hot read's connections survive what the engine's ping used to catch: a killed
connection, a table made again under a prepared statement; and PostgreSQL's absence is a 503."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import psycopg
import psycopg_pool
import pytest
from sqlalchemy import Engine, text

from komawari.db.hot import HotReads, compiled
from komawari.web.problems import problem_of

SQL = compiled(text("SELECT * FROM hot_probe WHERE id = :id"))


def _with_hot(engine: Engine, body: object) -> object:
    async def run() -> object:
        hot = HotReads(engine)
        await hot.open()
        try:
            return await body(hot)  # type: ignore[operator]
        finally:
            await hot.close()

    # In its own thread: the browser tests' Playwright keeps an event loop running here.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, run()).result()


@pytest.fixture
def probe_table(engine: Engine) -> object:
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS hot_probe"))
        conn.execute(text("CREATE TABLE hot_probe (id int PRIMARY KEY, v text)"))
        conn.execute(text("INSERT INTO hot_probe VALUES (1, 'first')"))
    yield None
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS hot_probe"))


def _kill_hot_connections(engine: Engine) -> int:
    with engine.begin() as conn:
        return len(
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name LIKE '%/hot' AND pid <> pg_backend_pid()"
                )
            ).all()
        )


def test_a_read_after_its_connections_were_killed_answers(
    engine: Engine, probe_table: object
) -> None:
    async def body(hot: HotReads) -> tuple[object, object, int]:
        first = await hot.one(SQL, {"id": 1})
        killed = await asyncio.to_thread(_kill_hot_connections, engine)
        return first, await hot.one(SQL, {"id": 1}), killed

    first, again, killed = _with_hot(engine, body)  # type: ignore[misc]
    assert killed >= 1, "the test must kill the connection the first read used"
    assert first == again == {"id": 1, "v": "first"}


def test_a_prepared_read_after_its_table_was_made_again_answers_the_new_table(
    engine: Engine, probe_table: object
) -> None:
    # What a restore does under a prepared statement: the table dropped and made again
    # (here with another column type, which PostgreSQL refuses to re-plan silently).
    def remake() -> None:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE hot_probe"))
            conn.execute(text("CREATE TABLE hot_probe (id int PRIMARY KEY, v int)"))
            conn.execute(text("INSERT INTO hot_probe VALUES (1, 42)"))

    async def body(hot: HotReads) -> tuple[object, object]:
        first = [await hot.one(SQL, {"id": 1}) for _ in range(3)][-1]
        await asyncio.to_thread(remake)
        return first, await hot.one(SQL, {"id": 1})

    first, again = _with_hot(engine, body)  # type: ignore[misc]
    assert first == {"id": 1, "v": "first"}
    assert again == {"id": 1, "v": 42}


def test_no_database_is_a_503_that_says_retry() -> None:
    for exc in (psycopg.OperationalError("no server"), psycopg_pool.PoolTimeout("timed out")):
        body = problem_of(exc)
        assert body["status"] == 503, exc
        assert "retry" in body["detail"]
