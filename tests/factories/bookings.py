"""Bookings through the services, for the verdict tests: one-offs, series, cancel, move."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from komawari.audit.service import Actor
from komawari.generation import service as generation
from komawari.generation.enums import RunTrigger
from komawari.series import service as series_service
from komawari.series.schemas import SeriesCreate
from komawari.sessions import service as sessions
from komawari.sessions.models import ClassSession
from komawari.sessions.schemas import SessionCreate, SessionMove

ACTOR = Actor("test", "pytest")
NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # Monday 12:00 in Tokyo


def one_off(db: Session, **fields: object) -> ClassSession:
    """Book a one-off lesson (private unless `student_ids` is given)."""
    data = {"start_time": "18:00", "end_time": "19:00", "date": "2026-12-03", **fields}
    if "student_ids" in data:
        data.setdefault("kind", "GROUP")
        data.setdefault("title", "Group")
    return sessions.create_one_off(db, session_in=SessionCreate.model_validate(data), actor=ACTOR)


def cancel(db: Session, *ids: int) -> None:
    """Cancel the sessions `ids`."""
    for i in ids:
        sessions.cancel(db, i, reason="test", actor=ACTOR)


def move(db: Session, session_id: int, **fields: object) -> None:
    """Move a session."""
    sessions.move(db, session_id, move_in=SessionMove.model_validate(fields), actor=ACTOR)


def series(db: Session, **fields: object) -> int:
    """Create a series without generating it; return its id."""
    data: dict[str, object] = {"first_date": "2026-11-30", "weekdays": ["thu"], **fields}
    if "student_ids" in data:
        data.setdefault("kind", "GROUP")
        data.setdefault("title", f"Group {len(str(fields))}")
        data.setdefault("capacity", 20)
    made, _ = series_service.create(
        db, series_in=SeriesCreate.model_validate(data), actor=ACTOR, generate=False, now=NOW
    )
    return made.id


def generate(db: Session, *, horizon_days: int = 8, series_id: int | None = None) -> None:
    """Run generation (all ACTIVE series, or one) at NOW."""
    generation.generate_in(
        db,
        trigger=RunTrigger.CLI,
        scope=generation.Scope(now=NOW, horizon_days=horizon_days, series_id=series_id),
        actor=ACTOR,
    )


def made_by(db: Session, series_id: int) -> list[ClassSession]:
    """Return the sessions of a series, by date."""
    query = select(ClassSession).where(ClassSession.series_id == series_id)
    return list(db.scalars(query.order_by(ClassSession.date)))


class Bound:
    """An engine look-alike over the test's own connection, so uncommitted rows are seen."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """Yield the test's connection."""
        yield self._conn


def seen_by_rule(db: Session) -> Bound:
    """Return what `assert_verdicts_follow_the_rule` reads from inside the test's transaction."""
    db.flush()
    return Bound(db.connection())
