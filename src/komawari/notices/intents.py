"""The intents the application writes itself, each in its change's own transaction.

A lesson's change, a credit's issue or use and an absence write theirs by trigger
(migration 0018), on every path. A new series's first lessons are told of by
generation's own insert (`sql.NEW_SERIES_CTE`). What no row change marks is written
here: the day-before reminders and credits about to expire (by their periodic tasks).
Every insert names the outbox's unique key, so running one again writes nothing twice.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from komawari.notices import sql

# A credit is told of as expiring this many days before its last day.
EXPIRING_DAYS = 7


def reminders(db: Session) -> int:
    """Write tomorrow's reminders at each branch whose reminder time has passed today."""
    return int(getattr(db.execute(text(sql.REMINDERS)), "rowcount", 0) or 0)


def credits_expiring(db: Session, *, days: int = EXPIRING_DAYS) -> int:
    """Write an "expiring" intent for each usable credit within `days` of its last day."""
    return int(getattr(db.execute(text(sql.CREDITS_EXPIRING), {"days": days}), "rowcount", 0) or 0)


def quiet(db: Session) -> None:
    """Write no intents for the rest of this transaction (an import, an operator's bulk
    work on rows that change no real lesson): the triggers read this setting."""
    db.execute(text("SET LOCAL komawari.notices = 'off'"))
