"""The FastAPI application: API, pages, health, and the periodic generation job."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from komawari import __version__, schema
from komawari.config import get_settings

log = logging.getLogger(__name__)


async def _periodic_generation(engine: Engine, minutes: int) -> None:
    from komawari.audit.service import Actor
    from komawari.generation import service as generation
    from komawari.orm import RunTrigger

    while True:
        try:
            await asyncio.to_thread(
                generation.run,
                engine,
                trigger=RunTrigger.SCHEDULE,
                actor=Actor("generator", "schedule"),
            )
        except Exception:  # keep the job alive; the run records its error
            log.exception("scheduled generation failed")
        await asyncio.sleep(minutes * 60)


def create_app(engine: Engine | None = None, *, periodic: bool | None = None) -> FastAPI:
    """Build the application on `engine` (default: the configured database)."""
    from komawari.db import ready_engine

    eng = engine or ready_engine()
    minutes = get_settings().generation_interval_minutes
    run_periodic = (minutes > 0) if periodic is None else periodic

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_periodic_generation(eng, minutes)) if run_periodic else None
        yield
        if task is not None:
            task.cancel()

    app = FastAPI(
        title="Komawari",
        version=__version__,
        lifespan=lifespan,
        openapi_url="/api/openapi.json",
        docs_url="/docs",
    )
    app.state.engine = eng

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz() -> JSONResponse:
        """The database is reachable and its migrations are at head."""
        try:
            with eng.connect() as conn:
                conn.execute(text("SELECT 1"))
            current, head = schema.current_revision(eng), schema.head_revision()
        except Exception as exc:
            return JSONResponse({"status": "unavailable", "detail": type(exc).__name__}, 503)
        if current != head:
            return JSONResponse(
                {"status": "migrations pending", "current": current, "head": head}, 503
            )
        return JSONResponse({"status": "ready", "revision": current})

    return app
