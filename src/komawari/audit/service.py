"""Recording and querying the audit log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from komawari.audit.models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who or what makes a change: a user, a token, the generator, an import, a repair."""

    type: str
    name: str
    repair_id: uuid.UUID | None = None
    run_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def cli(cls) -> Actor:
        """Return the actor of a command typed by the operator."""
        import getpass

        try:
            who = getpass.getuser()
        except (KeyError, OSError):  # pragma: no cover - no passwd entry
            who = "unknown"
        return cls("cli", who)


SYSTEM = Actor("system", "komawari")


def record(
    db: Session,
    *,
    actor: Actor,
    action: str,
    subject_type: str,
    subject_id: int | None = None,
    branch_id: int | None = None,
    series_id: int | None = None,
    occurrence_date: date | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record one audit event in the current transaction."""
    event = AuditEvent(
        actor_type=actor.type,
        actor=actor.name,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        branch_id=branch_id,
        series_id=series_id,
        occurrence_date=occurrence_date,
        reason=reason,
        run_id=actor.run_id,
        repair_id=actor.repair_id,
        details={**actor.extra, **(details or {})},
    )
    db.add(event)
    db.flush()
    return event


def record_many(
    db: Session,
    *,
    actor: Actor,
    action: str,
    subject_type: str,
    rows: list[tuple[int, int | None, dict[str, Any]]],
) -> None:
    """Record one audit event per (subject id, branch id, details) of `rows`, in one
    statement (a day's roll: hundreds of marks)."""
    if not rows:
        return
    db.execute(
        insert(AuditEvent),
        [
            {
                "actor_type": actor.type,
                "actor": actor.name,
                "action": action,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "branch_id": branch_id,
                "run_id": actor.run_id,
                "repair_id": actor.repair_id,
                "details": {**actor.extra, **details},
            }
            for subject_id, branch_id, details in rows
        ],
    )


def events(
    db: Session,
    *,
    action: str | None = None,
    subject_type: str | None = None,
    subject_id: int | None = None,
    branch_ids: list[int] | None = None,
    series_id: int | None = None,
    repair_id: uuid.UUID | None = None,
    since: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """Return audit events, newest first, filtered."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEvent.action == action)
    if subject_type:
        query = query.where(AuditEvent.subject_type == subject_type)
    if subject_id is not None:
        query = query.where(AuditEvent.subject_id == subject_id)
    if branch_ids is not None:
        query = query.where(AuditEvent.branch_id.in_(branch_ids))
    if series_id is not None:
        query = query.where(AuditEvent.series_id == series_id)
    if repair_id is not None:
        query = query.where(AuditEvent.repair_id == repair_id)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return list(db.scalars(query))


SKIPPED_EXISTING = "occurrence.skipped_existing"


@dataclass
class SkippedReport:
    """The skipped-due-to-existing report: counts per day and per series, and the events."""

    total: int
    per_day: dict[date, int]
    per_series: dict[int, int]
    events: list[AuditEvent]


def skipped_report(
    db: Session,
    *,
    since: datetime | None = None,
    branch_ids: list[int] | None = None,
    limit: int = 200,
) -> SkippedReport:
    """Report the occurrences generation skipped because they already existed."""
    base = select(AuditEvent).where(AuditEvent.action == SKIPPED_EXISTING)
    if since is not None:
        base = base.where(AuditEvent.at >= since)
    if branch_ids is not None:
        base = base.where(AuditEvent.branch_id.in_(branch_ids))
    sub = base.subquery()
    day = func.date(sub.c.at)
    per_day: dict[date, int] = dict(
        db.execute(select(day, func.count()).group_by(day).order_by(day)).all()
    )
    per_series = {
        s: n
        for s, n in db.execute(
            select(sub.c.series_id, func.count())
            .group_by(sub.c.series_id)
            .order_by(func.count().desc())
        )
        if s is not None
    }
    rows = list(db.scalars(base.order_by(AuditEvent.id.desc()).limit(limit)))
    return SkippedReport(sum(per_day.values()), per_day, per_series, rows)
