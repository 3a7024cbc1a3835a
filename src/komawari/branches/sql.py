"""The branches domain's raw SQL: reopening a closed day."""

from __future__ import annotations

from komawari.db import guards
from komawari.scheduling import keys

# The rows promise 1 guards (live private lessons), as the guard itself defines them.
_LIVE_PRIVATE = guards.LIVE_PRIVATE

# Reinstate what the closure cancelled, unless the same lesson was booked since.
RESTORE_CLOSED = f"""
UPDATE class_sessions s SET status = 'CONFIRMED', cancel_reason = NULL, cancelled_at = NULL
 WHERE s.branch_id = :b AND s.date = :d AND s.status = 'CANCELLED'
   AND s.cancel_reason = :reason
   AND NOT (s.kind = 'PRIVATE' AND EXISTS (
        SELECT 1 FROM (SELECT * FROM class_sessions WHERE {_LIVE_PRIVATE}) x
         WHERE {keys.same(keys.LESSON_KEY, "x", "s")}))
RETURNING s.id
"""  # noqa: S608 - composed from module constants; values are bind parameters
