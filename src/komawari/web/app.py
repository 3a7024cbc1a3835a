"""The FastAPI application: API, calendar feeds, health, and the periodic generation job."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from sqlalchemy.orm import sessionmaker

from komawari import __version__
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
    from komawari.notices.contact_api import routers as contact_routers
    from komawari.notices.line_webhook import router as line_webhook_router
    from komawari.notices.operator_api import router as outbox_router
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
        *contact_routers,
        line_webhook_router,
        outbox_router,
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
    from komawari.notices.contact_pages import router as contact_pages
    from komawari.notices.operator_pages import router as outbox_pages
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
    app.include_router(contact_pages)
    app.include_router(outbox_pages)
    pages.install(app)


async def _job_worker(engine: Engine) -> None:
    """The server's own job worker: the periodic work and the outbox (komawari.queue).

    Each server process runs one; PostgreSQL lets one worker defer each periodic tick, so
    the work runs once per deployment, whatever the process count.
    """
    from komawari import queue

    try:
        await queue.run_worker(queue.build_app(engine), name=f"serve-{os.getpid()}")
    except asyncio.CancelledError:
        raise
    except Exception:  # the server goes on serving; the operator sees why in the log
        log.exception("the job worker stopped")


def create_app(engine: Engine | None = None, *, periodic: bool | None = None) -> FastAPI:
    """Build the application on `engine` (default: the configured database)."""
    from komawari.db.engine import ready_engine

    eng = engine or ready_engine()
    run_periodic = True if periodic is None else periodic

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The revalidation's connections (db/hot.py) live as long as this start of the app.
        app.state.hot = hot = HotReads(eng)
        await hot.open()
        task = asyncio.create_task(_job_worker(eng)) if run_periodic else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
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
