"""ETags of schedules, from the change counters PostgreSQL keeps (migration 0005).

Triggers bump `branch_versions` in the transaction of every write that changes what a
day shows (sessions, attendees, closures, rooms, series, the branch, names), so a counter
read in a request's snapshot names exactly the committed state the answer would be built
from. Reading it is one index scan of at most 2 x 64 rows per branch; no body is built
to compare.

A restore (`komawari restore`, pg_restore --clean) puts the backup's counters back, so
counts alone could repeat with other content afterwards. Every state also names the
epoch of the counters: the object id of `branch_versions`, which is a new one whenever
the table is made again (a restore drops and recreates it in its one transaction), and
is read in the same statement as the counters.

The hot read (`read_as_caller`) authenticates the token, reads its user's branches, the
branch and its counters in one prepared statement on one of the process's hot connections
(`db/hot.py`): one round trip, on the event loop (`auth/dependencies.py` authorises it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from komawari import __version__
from komawari.auth.service import CALLER_CTE
from komawari.db.hot import HotReads, compiled


@dataclass(frozen=True)
class State:
    """The counters of what a schedule shows: its branches', every branch's, and their epoch."""

    own: int
    shared: int
    epoch: int

    def etag(self, *parts: object) -> str:
        """Return a strong ETag for this state and the answer's own `parts`."""
        key = "|".join(str(p) for p in (__version__, self.epoch, self.own, self.shared, *parts))
        return '"' + hashlib.blake2b(key.encode(), digest_size=12).hexdigest() + '"'


# The counters of the branches `:ids` (all branches when `:every`) and of branch 0.
_COUNTERS = """
SELECT coalesce(sum(changes) FILTER (WHERE branch_id <> 0), 0) AS own,
       coalesce(sum(changes) FILTER (WHERE branch_id = 0), 0) AS shared,
       CAST(CAST('branch_versions' AS regclass) AS oid) AS epoch
  FROM branch_versions WHERE branch_id = 0 OR :every OR branch_id = ANY(CAST(:ids AS bigint[]))
"""
_READ = text(_COUNTERS)


def _state(row: Mapping[Any, Any]) -> State:
    return State(int(row["own"]), int(row["shared"]), int(row["epoch"]))


def state(db: Session | Connection, branch_ids: Iterable[int] | None) -> State:
    """Return the state of the branches `branch_ids` (None: of every branch)."""
    ids = sorted(branch_ids) if branch_ids is not None else []
    row = db.execute(_READ, {"every": branch_ids is None, "ids": ids}).mappings().one()
    return _state(row)


def version(db: Session, branch_id: int) -> tuple[int, int]:
    """Return the branch's change count and the count of changes every branch shows."""
    found = state(db, [branch_id])
    return found.own, found.shared


def etag(db: Session, branch_id: int, *parts: object) -> str:
    """Return a strong ETag for the branch's current state and the answer's own `parts`."""
    return state(db, [branch_id]).etag(branch_id, *parts)


@dataclass(frozen=True)
class CallerRead:
    """What the hot read found: the token's row (None: no such token), whether the branch
    exists, and the branch's state."""

    caller: Mapping[Any, Any] | None
    branch_exists: bool
    state: State


_AS_CALLER = text(
    f"""WITH {CALLER_CTE}, counters AS ({_COUNTERS})
SELECT c.*, EXISTS (SELECT FROM branches WHERE id = :branch_id) AS branch_exists,
       v.own, v.shared, v.epoch
  FROM counters v LEFT JOIN caller c ON true
"""  # noqa: S608 - composed from module constants; values are bind parameters
)


_AS_CALLER_SQL = compiled(_AS_CALLER)


async def read_as_caller(hot: HotReads, token_hash: str, branch_id: int) -> CallerRead:
    """Read the caller of a token, the branch's existence and state in one statement.

    Nothing here decides access: the caller's row goes to `auth.service.principal_of`
    and the policy. The statement runs alone (autocommit), so it reads one snapshot.
    """
    params = {"token_hash": token_hash, "branch_id": branch_id, "every": False}
    row = await hot.one(_AS_CALLER_SQL, {**params, "ids": [branch_id]})
    caller = row if row["token_id"] is not None else None
    return CallerRead(caller, bool(row["branch_exists"]), _state(row))


def matches(if_none_match: str | None, tag: str) -> bool:
    """Tell whether an If-None-Match header names `tag` (weak comparison, RFC 9110)."""
    if not if_none_match:
        return False
    names: Iterable[str] = (n.strip() for n in if_none_match.split(","))
    return any(n == "*" or n.removeprefix("W/") == tag for n in names)
