"""A dry run of creating a series: the sessions it would create and their conflicts."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from komawari.audit.service import Actor
from komawari.auth.policy import Principal
from komawari.generation.counts import RunCounts
from komawari.generation.enums import RunTrigger
from komawari.series import service as series_service
from komawari.series.schemas import Clock, SeriesCreate
from komawari.sessions import read_model
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from komawari.sessions.schemas import ConflictRef


class WouldBeSession(BaseModel):
    """A session the series would create, with the verdict it would get."""

    date: dt.date
    start_time: Clock
    end_time: Clock
    status: SessionStatus
    conflicts_with: list[ConflictRef]


class SeriesDryRun(BaseModel):
    """What creating the series would do; nothing was written."""

    dry_run: Literal[True] = True
    series: SeriesCreate
    sessions: list[WouldBeSession]
    counts: RunCounts | None


def preview(
    db: Session, *, series_in: SeriesCreate, actor: Actor, viewer: Principal | None = None
) -> SeriesDryRun:
    """Create the series and generate it inside a savepoint, read the result, roll it back."""
    savepoint = db.begin_nested()
    try:
        series, result = series_service.create(
            db, series_in=series_in, actor=actor, trigger=RunTrigger.API
        )
        rows = list(
            db.scalars(
                select(ClassSession)
                .where(ClassSession.series_id == series.id)
                .order_by(ClassSession.date, ClassSession.start_time)
            )
        )
        created = {r.id for r in rows}
        pairs = ((r.id, list(r.conflicts_with)) for r in rows)
        refs = read_model.clashes(db, pairs, viewer=viewer, later=False).conflicts_with
        sessions = [
            WouldBeSession(
                date=r.date,
                start_time=r.start_time,
                end_time=r.end_time,
                status=r.status,
                conflicts_with=[c for c in refs.get(r.id, []) if c["session_id"] not in created],
            )
            for r in rows
        ]
        counts = result.counts if result else None
    finally:
        savepoint.rollback()
    return SeriesDryRun(series=series_in, sessions=sessions, counts=counts)
