"""Idempotency-Key: the same key and body answer the first response again, for 24 hours.

The request that runs holds a transaction-level advisory lock on the key in its own
transaction, from before its claim until it commits or rolls back; another request with
the key that cannot take the lock is answered 409 (in progress). The claim itself is a
row inserted in its own committed transaction, so the unique (scope, key) constraint
decides any race, and a later request sees it: answered (the stored response, byte for
byte), another body (422), or unanswered while nobody holds the lock (the first request
died before committing, so nothing of it exists: the key is taken over and the request
runs). A success is stored in the request's transaction, so the answer and the changes
it describes commit together; a 4xx is stored before the request rolls back; a 5xx
deletes the claim so the client can retry.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from komawari.auth import sql
from komawari.db.engine import session_scope
from komawari.errors import Conflict, KomawariError

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


def try_lock(session: Session, *, scope: str, key: str) -> bool:
    """Take the key's lock until the request's transaction ends; False if another holds it."""
    digest = hashlib.sha256(f"{scope}\n{key}".encode()).digest()
    return bool(
        session.execute(
            text(sql.TRY_LOCK_KEY),
            {"space": LOCK_SPACE, "key": int.from_bytes(digest[:4], "big", signed=True)},
        ).scalar_one()
    )


def in_progress(key: str) -> IdempotencyInProgress:
    """Return the 409 of a key whose first request is still running."""
    return IdempotencyInProgress(
        f"the first request with Idempotency-Key {key!r} is still being processed; "
        "retry in a moment to get its answer"
    )


def claim(
    engine: Engine, *, scope: str, key: str, method: str, path: str, request_hash: str
) -> int:
    """Claim `key` for this request (own transaction); return the claim id.

    The caller holds the key's lock (`try_lock`), so an unanswered claim is one whose
    request died: it is taken over. Raise Replay with a stored answer, or
    IdempotencyKeyReused.
    """
    params: dict[str, object] = {"scope": scope, "key": key, "method": method}
    params |= {"path": path[:500], "ttl_hours": TTL_HOURS}
    for _ in range(3):  # a concurrent release may delete the row between the two statements
        with session_scope(engine) as s:
            s.execute(text(sql.EXPIRE_KEY), params)
            claim_id = s.execute(text(sql.CLAIM_KEY), {**params, "hash": request_hash}).scalar()
            if claim_id is not None:
                return int(claim_id)
            row = s.execute(text(sql.FIND_KEY), params).first()
        if row is None:
            continue
        claim_id_of, stored_hash, status, body = row
        if stored_hash != request_hash:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {key!r} was used for a different request in the last "
                f"{TTL_HOURS} hours; use a new key for a new request",
                field="Idempotency-Key",
            )
        if status is None:
            return int(claim_id_of)
        raise Replay(int(status), str(body))
    raise in_progress(key)


def complete(session: Session, claim_id: int, *, status: int, body: str) -> None:
    """Store the answer of a claimed request in the current transaction."""
    # The body is stored as one JSON string so a replay is byte for byte the first answer.
    session.execute(
        text(sql.COMPLETE_KEY), {"id": claim_id, "status": status, "body": json.dumps(body)}
    )


def store(engine: Engine, claim_id: int, *, status: int, body: str) -> None:
    """Store the answer of a claimed request in its own transaction."""
    with session_scope(engine) as s:
        complete(s, claim_id, status=status, body=body)


def release(engine: Engine, claim_id: int) -> None:
    """Forget an unanswered claim (the request failed with a 5xx) so a retry can run."""
    with session_scope(engine) as s:
        s.execute(text(sql.RELEASE_KEY), {"id": claim_id})


def purge_expired(engine: Engine) -> int:
    """Delete every key older than the 24 hours it is kept for; return how many."""
    with session_scope(engine) as s:
        result = s.execute(text(sql.PURGE_EXPIRED), {"ttl_hours": TTL_HOURS})
        return int(result.rowcount)  # type: ignore[attr-defined]
