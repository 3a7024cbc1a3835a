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
from komawari.ops import bulk, rules
from komawari.scheduling.weekdays import mask_names
from komawari.sessions import locks, reevaluate

_CANCEL_SET = (
    "status = 'CANCELLED', cancel_reason = coalesce(s.cancel_reason, :reason),"
    " cancelled_at = coalesce(s.cancelled_at, now()), conflicts_with = '{}', updated_at = now()"
)

# 1. Exact duplicates (promise 1): in each group the earliest created stays.
EXACT_SQL = f"""
WITH ranked AS (
    SELECT id, first_value(id) OVER w AS keep_id, row_number() OVER w AS rn
      FROM class_sessions WHERE {rules.LIVE_PRIVATE}
    WINDOW w AS (PARTITION BY {rules.LESSON_KEY} ORDER BY {rules.KEEP_ORDER})
),
changed AS (
    UPDATE class_sessions s SET {_CANCEL_SET}, duplicate_of_id = r.keep_id
      FROM ranked r WHERE s.id = r.id AND r.rn > 1
    RETURNING s.id, s.duplicate_of_id, s.branch_id, s.series_id, s.original_date
),
audited AS ({
    bulk.audit_cte(
        "changed",
        action="session.cancel_duplicate",
        subject_type="session",
        series="series_id",
        occurrence="original_date",
        reason=":reason",
        details="jsonb_build_object('duplicate_of_id', duplicate_of_id, 'rule', 'same lesson')",
    )
})
SELECT id, duplicate_of_id FROM changed
"""

# 2. An occurrence held by several rows (promise 2): the non-cancelled one, else the
# earliest, keeps (series, original date); the others step aside as cancelled pointers
# (to the lesson kept in step 1 when they are copies of it, else to the holder).
OCCURRENCE_SQL = f"""
WITH ranked AS (
    SELECT id, first_value(id) OVER w AS keep_id, row_number() OVER w AS rn,
           status = 'CANCELLED' AS was_cancelled
      FROM class_sessions WHERE {rules.HAS_OCCURRENCE}
    WINDOW w AS (PARTITION BY {rules.OCCURRENCE_KEY} ORDER BY {rules.OCCURRENCE_ORDER})
),
changed AS (
    UPDATE class_sessions s SET {_CANCEL_SET},
           duplicate_of_id = coalesce(s.duplicate_of_id, r.keep_id), original_date = NULL
      FROM ranked r WHERE s.id = r.id AND r.rn > 1
    RETURNING s.id, s.duplicate_of_id, s.branch_id, s.series_id, s.date, r.was_cancelled
),
audited AS ({
    bulk.audit_cte(
        "changed",
        action="session.cancel_duplicate",
        subject_type="session",
        series="series_id",
        occurrence="date",
        reason=":reason",
        details="jsonb_build_object('duplicate_of_id', duplicate_of_id, 'rule', 'same occurrence')",
    )
})
SELECT id, duplicate_of_id, was_cancelled FROM changed
"""

# 3. Duplicate ACTIVE series (promise 3): the earliest stays ACTIVE, the others pause.
SERIES_SQL = f"""
WITH ranked AS (
    SELECT id, first_value(id) OVER w AS keep_id, row_number() OVER w AS rn
      FROM class_series WHERE status = 'ACTIVE'
    WINDOW w AS (PARTITION BY {rules.SERIES_KEY} ORDER BY {rules.KEEP_ORDER})
),
changed AS (
    UPDATE class_series cs SET status = 'PAUSED', duplicate_of_id = r.keep_id,
           status_reason = 'duplicate of series ' || r.keep_id, updated_at = now()
      FROM ranked r WHERE cs.id = r.id AND r.rn > 1
    RETURNING cs.id, cs.duplicate_of_id, cs.branch_id, cs.status_reason
),
audited AS ({
    bulk.audit_cte(
        "changed",
        action="series.pause_duplicate",
        subject_type="series",
        series="id",
        reason="status_reason",
        details="jsonb_build_object('duplicate_of_id', duplicate_of_id)",
    )
})
SELECT id, duplicate_of_id FROM changed
"""

# 4. Future sessions of those paused series that duplicate a live session of the kept
# series (group lessons; private copies were already caught by step 1).
FUTURE_SQL = f"""
WITH dup AS (
    SELECT DISTINCT ON (s.id) s.id, k.id AS keep_id
      FROM class_series p
      JOIN class_sessions s ON s.series_id = p.id AND s.status <> 'CANCELLED'
      JOIN branches b ON b.id = s.branch_id
      JOIN class_sessions k ON k.series_id = p.duplicate_of_id AND k.status <> 'CANCELLED'
           AND k.date = s.date AND k.start_time = s.start_time AND k.end_time = s.end_time
           AND k.teacher_id = s.teacher_id AND k.student_id IS NOT DISTINCT FROM s.student_id
           AND k.title IS NOT DISTINCT FROM s.title
     WHERE p.status = 'PAUSED' AND p.duplicate_of_id IS NOT NULL
       AND s.date >= {rules.today_sql("b.time_zone")}
     ORDER BY s.id, k.created_at, k.id
),
changed AS (
    UPDATE class_sessions s SET {_CANCEL_SET}, duplicate_of_id = d.keep_id
      FROM dup d WHERE s.id = d.id
    RETURNING s.id, s.duplicate_of_id, s.branch_id, s.series_id, s.original_date
),
audited AS ({
    bulk.audit_cte(
        "changed",
        action="session.cancel_duplicate",
        subject_type="session",
        series="series_id",
        occurrence="original_date",
        reason=":reason",
        details="jsonb_build_object('duplicate_of_id', duplicate_of_id, 'rule', 'paused series')",
    )
})
SELECT id, duplicate_of_id FROM changed
"""

KEPT_SQL = """
SELECT s.id, s.date, s.start_time, s.end_time, t.name AS teacher,
       coalesce(st.name, s.title, '') AS party, s.status::text AS status, s.series_id
  FROM class_sessions s JOIN teachers t ON t.id = s.teacher_id
  LEFT JOIN students st ON st.id = s.student_id
 WHERE s.id = ANY(CAST(:ids AS bigint[]))
"""

KEPT_SERIES_SQL = """
SELECT cs.id, t.name AS teacher, coalesce(st.name, cs.title, '') AS party, cs.start_time,
       cs.end_time, cs.weekdays
  FROM class_series cs JOIN teachers t ON t.id = cs.teacher_id
  LEFT JOIN students st ON st.id = cs.student_id
 WHERE cs.id = ANY(CAST(:ids AS bigint[]))
"""


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


def _pairs(session: Session, sql: str, params: dict[str, Any]) -> dict[int, int]:
    return {int(r[0]): int(r[1]) for r in session.execute(text(sql), params)}


def _step_aside(session: Session, result: DedupeResult, params: dict[str, Any]) -> None:
    for row in session.execute(text(OCCURRENCE_SQL), params):
        if row.was_cancelled and row.id not in result.sessions:
            result.already_cancelled.add(int(row.id))
        result.sessions[int(row.id)] = int(row.duplicate_of_id)


def _group(pointers: dict[int, int]) -> dict[int, list[int]]:
    groups: dict[int, list[int]] = {}
    for copy, kept in sorted(pointers.items()):
        groups.setdefault(kept, []).append(copy)
    return groups


def _describe(session: Session, result: DedupeResult) -> None:
    lessons = _group(result.sessions)
    for r in session.execute(text(KEPT_SQL), {"ids": list(lessons)}):
        label = f"{r.date} {r.start_time:%H:%M}-{r.end_time:%H:%M} {r.teacher} / {r.party}"
        result.kept_sessions.append(Kept(r.id, label, r.status, lessons[r.id]))
    series = _group(result.series)
    for r in session.execute(text(KEPT_SERIES_SQL), {"ids": list(series)}):
        label = (
            f"{r.teacher} / {r.party} {mask_names(r.weekdays)} "
            f"{r.start_time:%H:%M}-{r.end_time:%H:%M}"
        )
        result.kept_series.append(Kept(r.id, label, "ACTIVE", series[r.id]))
    result.kept_sessions.sort(key=lambda k: (-len(k.copies), k.id))
    result.kept_series.sort(key=lambda k: (-len(k.copies), k.id))


def repair(
    session: Session, *, actor: Actor, backup: str | None = None, now: datetime | None = None
) -> DedupeResult:
    """Apply every step in the current transaction and re-evaluate conflicts (flush only)."""
    locks.lock_whole_schedule(session)
    reevaluate.jit_off(session)
    if actor.repair_id is None:
        actor = replace(actor, repair_id=uuid.uuid4())
    assert actor.repair_id is not None  # for the type checker
    params = {
        **bulk.actor_params(actor),
        "reason": rules.DUPLICATE_REASON,
        "now": now or datetime.now(UTC),
    }
    result = DedupeResult(actor.repair_id, applied=True, backup=backup)
    result.sessions.update(_pairs(session, EXACT_SQL, params))
    _step_aside(session, result, params)
    result.series.update(_pairs(session, SERIES_SQL, params))
    result.sessions.update(_pairs(session, FUTURE_SQL, params))
    touched = set(result.sessions) | set(result.sessions.values())
    result.conflicts_changed = reevaluate.evaluate(session, touched)
    _describe(session, result)
    if not result.nothing_to_do:
        audit.record(
            session,
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
    session: Session,
    *,
    apply: bool,
    actor: Actor | None = None,
    backup: str | None = None,
    now: datetime | None = None,
) -> DedupeResult:
    """Plan (the default: the same work, rolled back) or apply the repair."""
    actor = actor or Actor("repair", "dedupe", repair_id=uuid.uuid4())
    if apply:
        return repair(session, actor=actor, backup=backup, now=now)
    savepoint = session.begin_nested()
    try:
        result = repair(session, actor=actor, backup=backup, now=now)
    finally:
        savepoint.rollback()
    result.applied = False
    return result
