"""Set-based audit rows: one INSERT ... SELECT per kind of change, not one round trip per row."""

from __future__ import annotations

import json
from typing import Any

from komawari.audit.service import Actor


def audit_cte(
    source: str,
    *,
    action: str,
    subject_type: str,
    subject: str = "id",
    branch: str = "branch_id",
    series: str = "NULL",
    occurrence: str = "NULL",
    reason: str = "NULL",
    details: str = "'{}'::jsonb",
) -> str:
    """Return SQL that writes one audit event per row of the CTE `source` (use in a WITH)."""
    return f"""
    INSERT INTO audit_events (actor_type, actor, action, subject_type, subject_id, branch_id,
                              series_id, occurrence_date, reason, run_id, repair_id, details)
    SELECT CAST(:actor_type AS varchar), CAST(:actor_name AS varchar), '{action}',
           '{subject_type}', {subject}, {branch}, {series}, {occurrence}, {reason}, NULL,
           CAST(:repair_id AS uuid), CAST(:actor_extra AS jsonb) || {details}
      FROM {source}
    RETURNING 1
    """


def actor_params(actor: Actor) -> dict[str, Any]:
    """Return the SQL parameters `audit_cte` needs for `actor`."""
    return {
        "actor_type": actor.type,
        "actor_name": actor.name,
        "repair_id": str(actor.repair_id) if actor.repair_id else None,
        "actor_extra": json.dumps(actor.extra),
    }
