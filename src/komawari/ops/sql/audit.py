"""Set-based audit rows: one INSERT ... SELECT per kind of change, not one round trip per row."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from komawari.audit.service import Actor


@dataclass(frozen=True)
class AuditRows:
    """A CTE body writing audit rows, and the values its bind parameters take."""

    sql: str
    binds: dict[str, str]


def audit_cte(
    source: str,
    *,
    tag: str,
    action: str,
    subject_type: str,
    subject: str = "id",
    branch: str = "branch_id",
    series: str = "NULL",
    occurrence: str = "NULL",
    reason: str = "NULL",
    details: str = "'{}'::jsonb",
) -> AuditRows:
    """Return SQL that writes one audit event per row of the CTE `source` (use in a WITH).

    `action` and `subject_type` are bound as `:<tag>_action` and `:<tag>_subject_type`
    (a statement may write several kinds of event); the other arguments are SQL
    expressions over `source`, written in this package.
    """
    if not tag.isidentifier():
        raise ValueError(f"not a bind parameter prefix: {tag!r}")
    sql = f"""
    INSERT INTO audit_events (actor_type, actor, action, subject_type, subject_id, branch_id,
                              series_id, occurrence_date, reason, run_id, repair_id, details)
    SELECT CAST(:actor_type AS varchar), CAST(:actor_name AS varchar),
           CAST(:{tag}_action AS varchar), CAST(:{tag}_subject_type AS varchar),
           {subject}, {branch}, {series}, {occurrence}, {reason}, NULL,
           CAST(:repair_id AS uuid), CAST(:actor_extra AS jsonb) || {details}
      FROM {source}
    RETURNING 1
    """  # noqa: S608 - composed from module constants; values are bind parameters
    return AuditRows(sql, {f"{tag}_action": action, f"{tag}_subject_type": subject_type})


def binds(*rows: AuditRows) -> dict[str, str]:
    """Return the bind values of several audit CTEs; refuse two tags that collide."""
    merged: dict[str, str] = {}
    for r in rows:
        for name, value in r.binds.items():
            if merged.setdefault(name, value) != value:
                raise ValueError(f"two audit CTEs bind {name} differently")
    return merged


def actor_params(actor: Actor) -> dict[str, Any]:
    """Return the SQL parameters `audit_cte` needs for `actor`."""
    return {
        "actor_type": actor.type,
        "actor_name": actor.name,
        "repair_id": str(actor.repair_id) if actor.repair_id else None,
        "actor_extra": json.dumps(actor.extra),
    }
