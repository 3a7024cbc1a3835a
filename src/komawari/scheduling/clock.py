"""Which day it is: at a branch (its zone), or at the school (the default zone of new
branches) where a page shows lessons of several branches.

Every rule that asks "today" asks here or `timerules.today_in`, both reading the one clock
`timerules.now()`; nothing reads the host's `date.today()`, whose zone is the server's.
Tests move the clock with time-machine.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from komawari.config import get_settings
from komawari.scheduling.timerules import today_in


def branch_today(zone_name: str) -> date:
    """Return today's date at a branch in zone `zone_name`."""
    return today_in(zone_name)


def school_today() -> date:
    """Return today's date in the school's default zone (pages of several branches)."""
    return today_in(get_settings().default_timezone)


def db_now(db: Session) -> datetime:
    """The transaction's time, as PostgreSQL has it (the same for every statement of it)."""
    return db.scalar(select(func.now())) or datetime.now(UTC)
