"""ETags of a branch's day, from the change counters PostgreSQL keeps (migration 0005).

Triggers bump `branch_versions` in the transaction of every write that changes what a
day shows (sessions, attendees, closures, rooms, series, the branch, names), so a counter
read in a request's snapshot names exactly the committed state the answer would be built
from. Reading it is one index scan of at most 2 x 64 rows; no body is built to compare.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session

from komawari import __version__

_READ = text(
    "SELECT coalesce(sum(changes) FILTER (WHERE branch_id = :b), 0),"
    " coalesce(sum(changes) FILTER (WHERE branch_id = 0), 0)"
    " FROM branch_versions WHERE branch_id IN (0, :b)"
)


def version(session: Session, branch_id: int) -> tuple[int, int]:
    """Return the branch's change count and the count of changes every branch shows."""
    own, shared = session.execute(_READ, {"b": branch_id}).one()
    return int(own), int(shared)


def etag(session: Session, branch_id: int, *parts: object) -> str:
    """Return a strong ETag for the branch's current state and the answer's own `parts`."""
    key = "|".join(str(p) for p in (__version__, branch_id, *version(session, branch_id), *parts))
    return '"' + hashlib.blake2b(key.encode(), digest_size=12).hexdigest() + '"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """Tell whether an If-None-Match header names `tag` (weak comparison, RFC 9110)."""
    if not if_none_match:
        return False
    names: Iterable[str] = (n.strip() for n in if_none_match.split(","))
    return any(n == "*" or n.removeprefix("W/") == tag for n in names)
