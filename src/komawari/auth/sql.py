"""The auth domain's raw SQL: the idempotency keys' claims, answers and expiry.

Every statement that ages keys takes :ttl_hours (idempotency.TTL_HOURS).
"""

from __future__ import annotations

EXPIRE_KEY = """
DELETE FROM idempotency_keys WHERE scope = :scope AND key = :key
   AND created_at < now() - make_interval(hours => :ttl_hours)
"""

CLAIM_KEY = """
INSERT INTO idempotency_keys (scope, key, method, path, request_hash)
VALUES (:scope, :key, :method, :path, :hash)
ON CONFLICT (scope, key) DO NOTHING RETURNING id
"""

FIND_KEY = """
SELECT id, request_hash, response_status, response_body FROM idempotency_keys
 WHERE scope = :scope AND key = :key
"""

# The two-int4 form, in a key space (LOCK_SPACE) apart from the resource locks' kinds.
TRY_LOCK_KEY = "SELECT pg_try_advisory_xact_lock(:space, :key)"

COMPLETE_KEY = """
UPDATE idempotency_keys SET response_status = :status, response_body = CAST(:body AS jsonb),
       completed_at = now()
 WHERE id = :id
"""

STORE_ANSWER = """
INSERT INTO idempotency_keys (scope, key, method, path, request_hash, response_status,
                              response_body, completed_at)
VALUES (:scope, :key, :method, :path, :hash, :status, CAST(:body AS jsonb), now())
ON CONFLICT (scope, key) DO NOTHING
"""

PURGE_EXPIRED = """
DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => :ttl_hours)
"""
