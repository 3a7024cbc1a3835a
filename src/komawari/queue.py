"""The job queue: Procrastinate, with Komawari's PostgreSQL as the queue (no broker).

Each domain keeps its tasks in its own `jobs.py` as a Procrastinate blueprint; this
module puts them on one app. The periodic work (generation, credit expiry, reminders,
the outbox) is periodic tasks: every worker runs the periodic deferrer, and PostgreSQL's
unique (task, periodic id, tick) lets one of them defer each tick, so each tick runs
once however many workers there are, on however many hosts.

`komawari worker` runs a worker; `komawari serve` runs one inside the server, so the
zero-set-up default needs nothing else.
"""

from __future__ import annotations

import contextlib
from typing import Any

import procrastinate
from psycopg.conninfo import make_conninfo
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from komawari.db.engine import ready_engine, resolve_url

# The database this process's tasks work on: the server's engine when it runs the worker,
# else the configured one.
_engine: list[Engine] = []


def engine() -> Engine:
    """Return the engine the tasks of this process use."""
    return _engine[0] if _engine else ready_engine()


def conninfo(url: str) -> str:
    """Return libpq's connection string for a SQLAlchemy URL (the embedded one too)."""
    parsed = make_url(url)
    params: dict[str, Any] = {
        "host": parsed.host,
        "port": parsed.port,
        "dbname": parsed.database,
        "user": parsed.username,
        "password": parsed.password,
    }
    params.update({k: v for k, v in parsed.query.items() if isinstance(v, str)})
    return make_conninfo(**{k: v for k, v in params.items() if v is not None})


def build_app(on: Engine | None = None) -> procrastinate.App:
    """Return the job app on `on`'s database (default: the configured one), every task on
    it; the tasks of this process then use `on`."""
    from komawari.attendance import jobs as attendance_jobs
    from komawari.auth import jobs as auth_jobs
    from komawari.config import get_settings
    from komawari.generation import jobs as generation_jobs
    from komawari.notices import jobs as notice_jobs

    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(
            on.url.render_as_string(hide_password=False) if on else resolve_url(get_settings())
        ),
        kwargs={"application_name": "komawari-worker"},
    )
    if on is not None:
        _engine[:] = [on]
    app = procrastinate.App(connector=connector)
    app.add_tasks_from(generation_jobs.blueprint(), namespace="generation")
    app.add_tasks_from(attendance_jobs.blueprint(), namespace="attendance")
    app.add_tasks_from(auth_jobs.blueprint(), namespace="auth")
    app.add_tasks_from(notice_jobs.blueprint(), namespace="notices")
    return app


async def catch_up(app: procrastinate.App) -> None:
    """Generate once as a worker starts (a restart does not wait for the next tick); one
    such job waits at a time, however many workers start."""
    from komawari.generation import jobs as generation_jobs

    if generation_jobs.cron() is None:
        return
    with contextlib.suppress(procrastinate.exceptions.AlreadyEnqueued):  # another's start did
        await app.tasks["generation:generate"].defer_async(timestamp=0)


# How long a stopping worker lets its running jobs finish before it cancels them.
GRACE_SECONDS = 30.0


async def run_worker(
    app: procrastinate.App, *, name: str, concurrency: int = 2, own_signals: bool = False
) -> None:
    """Run a worker on `app` until cancelled (the server's own), or until SIGINT or SIGTERM
    when it owns the process's signals (`komawari worker`): then it takes no new job and
    lets the running ones finish (at most `GRACE_SECONDS`)."""
    async with app.open_async():
        await catch_up(app)
        await app.run_worker_async(
            name=name,
            concurrency=concurrency,
            install_signal_handlers=own_signals,
            shutdown_graceful_timeout=GRACE_SECONDS,
            wait=True,
        )
