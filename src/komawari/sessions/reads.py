"""A session as the API and the CLI read it: `SessionRead`, with its clashes from both sides.

`conflicts_with` (what it clashes with) and `clashed_by` (later bookings that clash with
it) have the one shape of every clash, `ConflictRef`, redacted for the viewer as
`queries.conflict_refs` does (None: the operator's commands see everything).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from komawari.auth.policy import Principal
from komawari.sessions import queries
from komawari.sessions.models import ClassSession
from komawari.sessions.schemas import SessionRead

_CLASHES = ("conflicts_with", "clashed_by")
_FIELDS = tuple(f for f in SessionRead.model_fields if f not in _CLASHES)


def read_sessions(
    db: Session, rows: Sequence[ClassSession], *, viewer: Principal | None
) -> list[SessionRead]:
    """Return the sessions as read, each with what it clashes with, from both sides."""
    if not rows:
        return []
    days = (min(r.date for r in rows), max(r.date for r in rows))
    refs = queries.conflict_refs(db, ((r.id, list(r.conflicts_with)) for r in rows), viewer=viewer)
    later = queries.clashed_by(db, [r.id for r in rows], between=days, viewer=viewer)
    return [
        SessionRead.model_validate(
            {f: getattr(r, f) for f in _FIELDS}
            | {"conflicts_with": refs.get(r.id, []), "clashed_by": later.get(r.id, [])}
        )
        for r in rows
    ]
