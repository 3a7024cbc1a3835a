"""The zones a branch may use: IANA zones that both Python and the database server know.

A zone the server does not know would make every booking at the branch fail, because
the database derives each session's instants in the branch's zone.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from komawari.errors import InvalidInput
from komawari.scheduling import values
from komawari.words import InvalidValue

_KNOWN = text("SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = :name)")


def check(db: Session, name: str) -> str:
    """Return `name` if Python and the server both know it, else raise InvalidInput."""
    try:
        values.check_zone(name)  # Python's rule first: no query for a name that is no zone
        known = {name} if db.scalar(_KNOWN, {"name": name}) else set()
        return values.check_zone(name, known)
    except ValueError as exc:
        said = exc.said if isinstance(exc, InvalidValue) else str(exc)
        raise InvalidInput("time_zone", said) from exc
