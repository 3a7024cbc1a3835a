"""Idempotency-Key: the same key and body answer the first response again, for 24 hours.

Everything happens on the request's own connection, so a keyed request never holds one
connection while waiting for a second (30 parallel keyed POSTs once exhausted the pool).
The request takes a transaction-level advisory lock on the key, then claims it with a row
inserted in its own transaction; another request with the key that cannot take the lock
is answered 409 (in progress). Once the lock is free, the row it finds is answered (the
stored response, byte for byte) or made for another body (422). A success is stored in
the request's transaction, so the answer and the changes it describes commit together; a
4xx rolls the request back and then stores its answer on the same connection; a 5xx
rolls back with the claim, so the client can retry. A row left unanswered (by an older
version) is taken over.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from komawari.auth import sql
from komawari.db.engine import session_scope
from komawari.errors import Conflict, KomawariError
from komawari.words import say

TTL_HOURS = 24
LOCK_SPACE = 0x49444D50  # "IDMP"
MAX_KEY_LENGTH = 255


class IdempotencyKeyReused(KomawariError):
    """The key was used before for a different request."""

    status_code = 422
    problem_type = "/problems/idempotency-key-reused"
    title = "Idempotency-Key reused with a different request"


class IdempotencyInProgress(Conflict):
    """The first request with this key has not answered yet."""

    problem_type = "/problems/idempotency-in-progress"
    title = "A request with this Idempotency-Key is in progress"


class Replay(Exception):
    """The stored answer of a finished request with the same key and body."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """Return the hash of a request: method, path, query and body (JSON canonicalised)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), query.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def try_lock(db: Session, *, scope: str, key: str) -> bool:
    """Take the key's lock until the request's transaction ends; False if another holds it."""
    digest = hashlib.sha256(f"{scope}\n{key}".encode()).digest()
    return bool(
        db.execute(
            text(sql.TRY_LOCK_KEY),
            {"space": LOCK_SPACE, "key": int.from_bytes(digest[:4], "big", signed=True)},
        ).scalar_one()
    )


def in_progress(key: str) -> IdempotencyInProgress:
    """Return the 409 of a key whose first request is still running."""
    return IdempotencyInProgress(
        say(
            "idempotency.in-progress",
            "the first request with Idempotency-Key '%(key)s' is still being processed; retry"
            " in a moment to get its answer",
            key=key,
        )
    )


@dataclass(frozen=True)
class Claim:
    """A key claimed by a running request: its row, and what a stored answer needs."""

    id: int
    scope: str
    key: str
    method: str
    path: str
    request_hash: str

    def params(self) -> dict[str, object]:
        """Return the bind parameters of this claim's row."""
        return {
            "scope": self.scope,
            "key": self.key,
            "method": self.method,
            "path": self.path[:500],
            "hash": self.request_hash,
        }


def claim(db: Session, *, scope: str, key: str, method: str, path: str, request_hash: str) -> Claim:
    """Claim `key` in the request's transaction; return the claim.

    The caller holds the key's lock (`try_lock`), so a row found is answered, or was left
    unanswered by a request that is gone: it is taken over. Raise Replay with a stored
    answer, or IdempotencyKeyReused.
    """
    found = Claim(0, scope, key, method, path, request_hash)
    params = {**found.params(), "ttl_hours": TTL_HOURS}
    db.execute(text(sql.EXPIRE_KEY), params)
    claim_id = db.execute(text(sql.CLAIM_KEY), params).scalar()
    if claim_id is not None:
        return Claim(int(claim_id), scope, key, method, path, request_hash)
    row = db.execute(text(sql.FIND_KEY), params).first()
    if row is None:  # another key hashed to the same lock and is being claimed
        raise in_progress(key)
    claim_id_of, stored_hash, status, body = row
    if stored_hash != request_hash:
        raise IdempotencyKeyReused(
            say(
                "idempotency.key-reused",
                "Idempotency-Key '%(key)s' was used for a different request in the last"
                " %(hours)s hours; use a new key for a new request",
                key=key,
                hours=TTL_HOURS,
            ),
            field="Idempotency-Key",
        )
    if status is None:
        return Claim(int(claim_id_of), scope, key, method, path, request_hash)
    raise Replay(int(status), str(body))


def complete(db: Session, claimed: Claim, *, status: int, body: str) -> None:
    """Store the answer of a claimed request in the current transaction."""
    # The body is stored as one JSON string so a replay is byte for byte the first answer.
    db.execute(
        text(sql.COMPLETE_KEY), {"id": claimed.id, "status": status, "body": json.dumps(body)}
    )


def store_refusal(db: Session, claimed: Claim, *, status: int, body: str) -> None:
    """Roll the request back, then store its 4xx answer and commit, on the same connection."""
    db.rollback()  # the claim row goes with the request's changes
    # A request with the key that ran in between (the lock ended with the rollback) wins.
    db.execute(
        text(sql.STORE_ANSWER),
        {**claimed.params(), "status": status, "body": json.dumps(body)},
    )
    db.commit()


def purge_expired(engine: Engine) -> int:
    """Delete every key older than the 24 hours it is kept for; return how many."""
    with session_scope(engine) as s:
        result = s.execute(text(sql.PURGE_EXPIRED), {"ttl_hours": TTL_HOURS})
        return int(result.rowcount)  # type: ignore[attr-defined]
