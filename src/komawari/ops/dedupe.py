"""The repair: cancel exact duplicates keeping the earliest, pause duplicate series.

Nothing is deleted. Every step is one set-based statement that also writes its audit
rows, all under one repair id; the plan (dry run) is the same work in a savepoint that
is rolled back, so what it reports is exactly what `--apply` would do.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.db import rules
from komawari.ops.sql import audit as audit_sql
from komawari.ops.sql import dedupe as q
from komawari.scheduling.weekdays import mask_names
from komawari.sessions import locks, reevaluate


@dataclass
class Kept:
    """A row that stays, and the copies that now point to it."""

    id: int
    label: str
    status: str
    copies: list[int]


@dataclass
class DedupeResult:
    """What a dedupe run did (applied) or would do (plan)."""

    repair_id: uuid.UUID
    applied: bool
    sessions: dict[int, int] = field(default_factory=dict)  # cancelled id -> kept id
    already_cancelled: set[int] = field(default_factory=set)  # only stepped aside
    series: dict[int, int] = field(default_factory=dict)  # paused id -> kept id
    conflicts_changed: dict[int, str] = field(default_factory=dict)
    kept_sessions: list[Kept] = field(default_factory=list)
    kept_series: list[Kept] = field(default_factory=list)
    backup: str | None = None

    @property
    def nothing_to_do(self) -> bool:
        """Return whether the data was already free of duplicates."""
        return not (self.sessions or self.series or self.conflicts_changed)

    def as_dict(self) -> dict[str, Any]:
        """Return the result as plain JSON-able values."""
        return {
            "applied": self.applied,
            "repair_id": str(self.repair_id),
            "backup": self.backup,
            "nothing_to_do": self.nothing_to_do,
            "sessions": {
                "cancelled": len(self.sessions) - len(self.already_cancelled),
                "already_cancelled_now_pointing": len(self.already_cancelled),
                "kept": [vars(k) for k in self.kept_sessions],
            },
            "series": {"paused": len(self.series), "kept": [vars(k) for k in self.kept_series]},
            "conflicts": {
                "verdicts_changed": len(self.conflicts_changed),
                "now_confirmed": sum(s == "CONFIRMED" for s in self.conflicts_changed.values()),
                "now_conflicted": sum(s == "CONFLICTED" for s in self.conflicts_changed.values()),
            },
        }


def _pairs(db: Session, sql: str, params: dict[str, Any]) -> dict[int, int]:
    return {int(r[0]): int(r[1]) for r in db.execute(text(sql), params)}


def _step_aside(db: Session, result: DedupeResult, params: dict[str, Any]) -> None:
    for row in db.execute(text(q.OCCURRENCE_SQL), params):
        if row.was_cancelled and row.id not in result.sessions:
            result.already_cancelled.add(int(row.id))
        result.sessions[int(row.id)] = int(row.duplicate_of_id)


def _group(pointers: dict[int, int]) -> dict[int, list[int]]:
    groups: dict[int, list[int]] = {}
    for copy, kept in sorted(pointers.items()):
        groups.setdefault(kept, []).append(copy)
    return groups


def _describe(db: Session, result: DedupeResult) -> None:
    lessons = _group(result.sessions)
    for r in db.execute(text(q.KEPT_SQL), {"ids": list(lessons)}):
        label = f"{r.date} {r.start_time:%H:%M}-{r.end_time:%H:%M} {r.teacher} / {r.party}"
        result.kept_sessions.append(Kept(r.id, label, r.status, lessons[r.id]))
    series = _group(result.series)
    for r in db.execute(text(q.KEPT_SERIES_SQL), {"ids": list(series)}):
        label = (
            f"{r.teacher} / {r.party} {mask_names(r.weekdays)} "
            f"{r.start_time:%H:%M}-{r.end_time:%H:%M}"
        )
        result.kept_series.append(Kept(r.id, label, "ACTIVE", series[r.id]))
    result.kept_sessions.sort(key=lambda k: (-len(k.copies), k.id))
    result.kept_series.sort(key=lambda k: (-len(k.copies), k.id))


def repair(
    db: Session, *, actor: Actor, backup: str | None = None, now: datetime | None = None
) -> DedupeResult:
    """Apply every step in the current transaction and re-evaluate conflicts (flush only)."""
    locks.lock_whole_schedule(db)
    reevaluate.jit_off(db)
    if actor.repair_id is None:
        actor = replace(actor, repair_id=uuid.uuid4())
    assert actor.repair_id is not None  # for the type checker
    params = {
        **audit_sql.actor_params(actor),
        **q.BINDS,
        "reason": rules.DUPLICATE_REASON,
        "now": now or datetime.now(UTC),
    }
    result = DedupeResult(actor.repair_id, applied=True, backup=backup)
    result.sessions.update(_pairs(db, q.EXACT_SQL, params))
    _step_aside(db, result, params)
    result.series.update(_pairs(db, q.SERIES_SQL, params))
    result.sessions.update(_pairs(db, q.FUTURE_SQL, params))
    touched = set(result.sessions) | set(result.sessions.values())
    result.conflicts_changed = reevaluate.evaluate(db, touched)
    _describe(db, result)
    if not result.nothing_to_do:
        audit.record(
            db,
            actor=actor,
            action="repair.dedupe",
            subject_type="repair",
            reason="exact duplicates and duplicate ACTIVE series",
            details={
                "sessions_cancelled": len(result.sessions) - len(result.already_cancelled),
                "cancelled_rows_now_pointing": len(result.already_cancelled),
                "series_paused": len(result.series),
                "conflicts_changed": {str(k): v for k, v in result.conflicts_changed.items()},
                "backup": result.backup,
            },
        )
    return result


def run(
    db: Session,
    *,
    apply: bool,
    actor: Actor | None = None,
    backup: str | None = None,
    now: datetime | None = None,
) -> DedupeResult:
    """Plan (the default: the same work, rolled back) or apply the repair."""
    actor = actor or Actor("repair", "dedupe", repair_id=uuid.uuid4())
    if apply:
        return repair(db, actor=actor, backup=backup, now=now)
    savepoint = db.begin_nested()
    try:
        result = repair(db, actor=actor, backup=backup, now=now)
    finally:
        savepoint.rollback()
    result.applied = False
    return result
