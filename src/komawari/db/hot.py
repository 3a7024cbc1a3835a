"""The hottest read's own connections: on the event loop, prepared, no ping.

A revalidation of the day's schedule (`If-None-Match`, answered 304) is one statement
(`branches/versions.py`). Through the engine it also paid a thread-pool hop, the pool's
ping and a statement parsed and planned again every time: those cost more than the rest
of its answer. Each process keeps a few psycopg connections for it instead, opened by the
app's lifespan: asynchronous (no thread), autocommitting, with the statement prepared on
the first execution (`prepare_threshold=0`).

Without the ping, a connection broken by a PostgreSQL restart is found by using it: the
pool drops it, checks the idle ones, and the read runs once more on another connection. A
restore (drop and create) can leave a prepared plan whose result type no longer exists
("cached plan must not change result type"): that connection forgets its plans and runs
the read again. Nothing is cached here: every read reads PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Engine, TextClause
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg

from komawari.db.engine import connect_args

# Connections per process: the read holds one for a round trip, on one event loop.
SIZE = 4
# How long a read waits for a connection (PostgreSQL down: then a 503, retry shortly).
WAIT_SECONDS = 5.0

_DIALECT = pg_psycopg.dialect()  # type: ignore[no-untyped-call]


def compiled(statement: TextClause) -> str:
    """Return a `text()` statement as psycopg takes it (`:name` becomes `%(name)s`)."""
    return str(statement.compile(dialect=_DIALECT))


class HotReads:
    """A small pool of prepared, autocommitting connections for one-statement reads."""

    def __init__(self, engine: Engine) -> None:
        conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        kwargs: dict[str, Any] = {
            "autocommit": True,
            "prepare_threshold": 0,
            "row_factory": dict_row,
            "application_name": f"{connect_args()['application_name']}/hot",
        }
        self._pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=SIZE,
            timeout=WAIT_SECONDS,
            kwargs=kwargs,
            open=False,
            name="hot-reads",
        )

    async def open(self) -> None:
        """Start the pool (its first connection is made in the background)."""
        await self._pool.open(wait=False)

    async def close(self) -> None:
        """Close every connection."""
        await self._pool.close()

    async def one(self, sql: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Run `sql` (see `compiled`), return its one row; once more on a broken connection."""
        try:
            return await self._one(sql, params)
        except psycopg.OperationalError:
            await self._pool.check()  # the restart that broke one broke the idle ones too
            return await self._one(sql, params)

    async def _one(self, sql: str, params: Mapping[str, Any]) -> dict[str, Any]:
        async with self._pool.connection() as conn:  # a broken one is dropped by the pool
            try:
                cur = await conn.execute(sql, params)
            except psycopg.errors.FeatureNotSupported:  # a plan from before a restore
                await conn.execute("DEALLOCATE ALL")  # psycopg forgets its plans with it
                cur = await conn.execute(sql, params)
            row = await cur.fetchone()
        if row is None:  # pragma: no cover - the statements given return one row
            raise LookupError("the statement returned no row")
        return dict(row)
