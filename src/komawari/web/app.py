"""The FastAPI application: API, calendar feeds, health, and the periodic generation job."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import sessionmaker

from komawari import __version__
from komawari.config import get_settings
from komawari.db import migrate
from komawari.db.hot import HotReads
from komawari.web.headers import SecurityHeaders
from komawari.web.operation_ids import operation_id
from komawari.web.root_path import RootPathLinks

log = logging.getLogger(__name__)
DESCRIPTION = (
    "Recurring lessons for multi-branch schools, without duplicates. Every `/api` call "
    "needs `Authorization: Bearer <token>` (`komawari token create`). Errors are "
    "problem+json (RFC 9457). Every POST accepts an `Idempotency-Key`."
)
_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}


def _install_api(app: FastAPI) -> None:
    """Add the API's routers, the calendar feeds and problem+json errors."""
    from komawari.attendance.api import routers as attendance_routers
    from komawari.audit.api import router as audit_router
    from komawari.auth.api import router as auth_router
    from komawari.branches.api import routers as branch_routers
    from komawari.generation.api import router as generation_router
    from komawari.people.api import routers as people_routers
    from komawari.series.api import router as series_router
    from komawari.sessions.api import router as session_router
    from komawari.web import problems
    from komawari.web.calendar import ACCESS_LOG_FILTER
    from komawari.web.calendar import router as calendar_router
    from komawari.web.routing import MAX_BODY_BYTES, SIGNED_OUT_MAX_BODY_BYTES, AllowedMethods

    for router in (
        auth_router,
        *branch_routers,
        *people_routers,
        series_router,
        session_router,
        *attendance_routers,
        generation_router,
        audit_router,
        calendar_router,
    ):
        app.include_router(router)
    problems.install(app, max_body=MAX_BODY_BYTES, signed_out_max_body=SIGNED_OUT_MAX_BODY_BYTES)
    # Feed URLs carry their secret key; the access log must not keep it.
    logging.getLogger("uvicorn.access").addFilter(ACCESS_LOG_FILTER)
    _install_pages(app)
    app.add_middleware(AllowedMethods)  # OPTIONS and 405 name the methods, pages included

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = problems.document(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _install_pages(app: FastAPI) -> None:
    """Add the staff pages (after the API's error handlers, which the pages wrap)."""
    from komawari.attendance.makeup_pages import router as makeup_pages
    from komawari.attendance.pages import router as roll_pages
    from komawari.attendance.policy_pages import router as policy_pages
    from komawari.attendance.report_pages import router as credit_pages
    from komawari.attendance.stats_pages import router as stats_pages
    from komawari.auth.pages import router as auth_pages
    from komawari.auth.user_pages import router as user_pages
    from komawari.branches.pages import router as branch_pages
    from komawari.ops.pages import router as ops_pages
    from komawari.people.pages import router as people_pages
    from komawari.series.action_pages import router as series_action_pages
    from komawari.series.pages import router as series_pages
    from komawari.sessions.pages import router as session_pages
    from komawari.web import pages

    app.include_router(auth_pages)
    app.include_router(session_pages)
    app.include_router(series_pages)
    app.include_router(series_action_pages)
    app.include_router(ops_pages)
    app.include_router(branch_pages)
    app.include_router(people_pages)
    app.include_router(makeup_pages)
    app.include_router(policy_pages)
    app.include_router(roll_pages)
    app.include_router(user_pages)
    app.include_router(credit_pages)
    app.include_router(stats_pages)
    pages.install(app)


# The periodic job's leadership: a session-level advisory lock (a key of its own, apart
# from the sessions' lock kinds), held on a connection kept open by the worker that leads.
# When that process dies its connection closes, PostgreSQL releases the lock, and the next
# worker to try takes it: one deployment runs the job once, whatever its worker count.
LEADER_LOCK = (0x4B4D5310, 0)


def try_to_lead(engine: Engine) -> Connection | None:
    """Return a connection holding the periodic job's lock, or None if another holds it."""
    conn = engine.connect()
    try:
        held = conn.execute(
            text("SELECT pg_try_advisory_lock(:kind, :key)"),
            {"kind": LEADER_LOCK[0], "key": LEADER_LOCK[1]},
        ).scalar_one()
        conn.commit()
    except BaseException:
        conn.invalidate()
        conn.close()
        raise
    if held:
        return conn
    conn.close()
    return None


def still_leads(conn: Connection) -> bool:
    """Tell whether the leader's connection is alive (then it holds the lock still)."""
    try:
        conn.execute(text("SELECT 1"))
        conn.commit()
    except Exception:
        return False
    return True


def stop_leading(conn: Connection) -> None:
    """Give the lock up: the connection is closed, not returned to the pool with it."""
    conn.invalidate()
    conn.close()


async def _periodic_generation(engine: Engine, minutes: int) -> None:
    from komawari.attendance import expiry as credit_expiry
    from komawari.audit.service import Actor
    from komawari.auth.idempotency import purge_expired
    from komawari.generation import job
    from komawari.generation.enums import RunTrigger

    leader: Connection | None = None
    try:
        while True:
            if leader is not None and not await asyncio.to_thread(still_leads, leader):
                stop_leading(leader)
                leader = None
            if leader is None:
                try:
                    leader = await asyncio.to_thread(try_to_lead, engine)
                except Exception:
                    log.exception("cannot reach the database to lead the periodic job")
            if leader is not None:
                try:
                    await asyncio.to_thread(
                        job.run,
                        engine,
                        trigger=RunTrigger.SCHEDULE,
                        actor=Actor("generator", "schedule"),
                    )
                except Exception:  # keep the job alive; the run records its error
                    log.exception("scheduled generation failed")
                try:
                    await asyncio.to_thread(purge_expired, engine)
                except Exception:
                    log.exception("purging expired idempotency keys failed")
                try:  # each branch's credits past their last day, on the branch's date
                    expired = await asyncio.to_thread(credit_expiry.run, engine)
                    if expired:
                        log.info("expired %d make-up credits", expired)
                except Exception:
                    log.exception("expiring make-up credits failed")
            await asyncio.sleep(minutes * 60)
    finally:
        if leader is not None:
            stop_leading(leader)


def create_app(engine: Engine | None = None, *, periodic: bool | None = None) -> FastAPI:
    """Build the application on `engine` (default: the configured database)."""
    from komawari.db.engine import ready_engine

    eng = engine or ready_engine()
    minutes = get_settings().generation_interval_minutes
    run_periodic = (minutes > 0) if periodic is None else periodic

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The revalidation's connections (db/hot.py) live as long as this start of the app.
        app.state.hot = hot = HotReads(eng)
        await hot.open()
        task = asyncio.create_task(_periodic_generation(eng, minutes)) if run_periodic else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
            await hot.close()

    app = FastAPI(
        title="Komawari",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/api/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    app.state.engine = eng
    app.state.sessions = sessionmaker(bind=eng, expire_on_commit=False)
    _install_api(app)
    app.add_middleware(RootPathLinks)  # `serve --root-path`: pages' links under the prefix
    app.add_middleware(SecurityHeaders)  # CSP, frame-ancestors, nosniff, Referrer-Policy

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        responses={
            200: {"description": "Ready", "content": {"application/json": {"schema": _OBJECT}}},
            503: {"description": "Not ready", "content": {"application/json": {"schema": _OBJECT}}},
        },
    )
    def readyz() -> JSONResponse:
        """The database is reachable and its migrations are at head."""
        try:
            with eng.connect() as conn:
                conn.execute(text("SELECT 1"))
            current, head = migrate.current_revision(eng), migrate.head_revision()
        except Exception as exc:
            return JSONResponse({"status": "unavailable", "detail": type(exc).__name__}, 503)
        if current != head:
            return JSONResponse(
                {"status": "migrations pending", "current": current, "head": head}, 503
            )
        return JSONResponse({"status": "ready", "revision": current})

    return app
