"""Conflicts, evaluated set-based in SQL (the rule is komawari.scheduling.conflict_rule).

A session's verdict depends only on the non-cancelled sessions that overlap it and share
its teacher, a student or its room; so after any change it is enough to re-evaluate the
touched sessions and their overlapping neighbours. Writers hold the schedule lock (see
`lock_schedule`) from their first change to their commit, so two transactions never
judge each other's rows from stale snapshots.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session

SCHEDULE_LOCK = 0x4B4F4D41  # "KOMA": one lock for every write to the schedule


def lock_schedule(session: Session) -> None:
    """Serialise writers of the schedule until this transaction ends (re-entrant).

    Also turns JIT off for the transaction: the set-based statements here are planned
    from estimates that a fresh batch makes stale, and JIT compiling them costs seconds
    where running them costs milliseconds.
    """
    session.execute(
        text("SELECT pg_advisory_xact_lock(:k), set_config('jit', 'off', true)"),
        {"k": SCHEDULE_LOCK},
    )


# A lesson ends after it starts on its own date, so it lasts under 24 wall-clock hours and
# under 26 real ones (a fall-back adds at most an hour or so): every session overlapping
# `a` starts less than 26 hours before `a` does. An index range on (resource, starts_at).
WINDOW = "b.starts_at > a.starts_at - interval '26 hours' AND b.starts_at < a.ends_at"
_NEAR = f"{WINDOW} AND b.id <> a.id AND b.status <> 'CANCELLED' AND a.starts_at < b.ends_at"


def _pairs(src: str) -> str:
    """SQL of (a_id, b_id): each session a of `src` and every live session b in conflict range."""
    return f"""
    SELECT a.id AS a_id, b.id AS b_id
      FROM {src} x JOIN class_sessions a ON a.id = x.id
      JOIN class_sessions b ON b.teacher_id = a.teacher_id
     WHERE {_NEAR}
    UNION
    SELECT a.id, b.id
      FROM {src} x JOIN class_sessions a ON a.id = x.id
      JOIN class_sessions b ON b.room_id = a.room_id
     WHERE a.room_id IS NOT NULL AND {_NEAR}
    UNION
    SELECT a.id, b.id
      FROM {src} x JOIN class_sessions a ON a.id = x.id
      JOIN LATERAL (
            SELECT a.student_id AS student_id WHERE a.student_id IS NOT NULL
            UNION ALL
            SELECT sa.student_id FROM session_attendees sa WHERE sa.session_id = a.id
      ) who ON true
      -- The other side's rows come straight from the lateral lookups (by student and
      -- date), so the planner never has to join them back to class_sessions.
      JOIN LATERAL (
            SELECT c.id, c.date, c.status, c.starts_at, c.ends_at FROM class_sessions c
             WHERE c.student_id = who.student_id
               AND c.starts_at > a.starts_at - interval '26 hours' AND c.starts_at < a.ends_at
            UNION ALL
            SELECT c.id, c.date, c.status, c.starts_at, c.ends_at
              FROM session_attendees sb JOIN class_sessions c ON c.id = sb.session_id
             WHERE sb.student_id = who.student_id
               AND c.starts_at > a.starts_at - interval '26 hours' AND c.starts_at < a.ends_at
      ) b ON true
     WHERE {_NEAR}
    """


EVALUATE_SQL = f"""
WITH x AS (SELECT DISTINCT unnest(CAST(:ids AS bigint[])) AS id),
p1 AS ({_pairs("x")}),
-- Neighbours not touched themselves: only their pairs are still to find.
extra AS (SELECT DISTINCT b_id AS id FROM p1 WHERE b_id NOT IN (SELECT id FROM x)),
affected AS (SELECT id FROM x UNION ALL SELECT id FROM extra),
p2 AS (SELECT a_id, b_id FROM p1 UNION ALL SELECT * FROM ({_pairs("extra")}) q),
verdict AS (
    SELECT a.id,
           coalesce(array_agg(b.id ORDER BY b.created_at, b.id)
                    FILTER (WHERE b.id IS NOT NULL), '{{}}') AS blockers
      FROM affected f
      JOIN class_sessions a ON a.id = f.id AND a.status <> 'CANCELLED'
      LEFT JOIN p2 ON p2.a_id = a.id
      LEFT JOIN class_sessions b ON b.id = p2.b_id AND (b.created_at, b.id) < (a.created_at, a.id)
     GROUP BY a.id
)
UPDATE class_sessions s
   SET status = CASE WHEN cardinality(v.blockers) > 0 THEN 'CONFLICTED'
                     ELSE 'CONFIRMED' END::session_status,
       conflicts_with = v.blockers
  FROM verdict v
 WHERE s.id = v.id
   AND (s.conflicts_with <> v.blockers
        OR s.status <> CASE WHEN cardinality(v.blockers) > 0 THEN 'CONFLICTED'
                            ELSE 'CONFIRMED' END::session_status)
RETURNING s.id, s.status::text
"""


def evaluate(session: Session, ids: Iterable[int], *, lock: bool = True) -> dict[int, str]:
    """Re-evaluate the sessions `ids` and their neighbours; return the ones that changed."""
    id_list = sorted(set(ids))
    if not id_list:
        return {}
    if lock:
        lock_schedule(session)
    rows = session.execute(text(EVALUATE_SQL), {"ids": id_list}).all()
    return {int(r[0]): str(r[1]) for r in rows}


NEIGHBOURS_SQL = f"""
WITH x AS (SELECT DISTINCT unnest(CAST(:ids AS bigint[])) AS id)
SELECT DISTINCT b_id FROM ({_pairs("x")}) p
"""


def neighbours(session: Session, ids: Iterable[int]) -> list[int]:
    """Return the live sessions that overlap `ids` and share a resource (before a move)."""
    id_list = sorted(set(ids))
    if not id_list:
        return []
    return [int(r[0]) for r in session.execute(text(NEIGHBOURS_SQL), {"ids": id_list})]


def evaluate_all(session: Session, *, branch_id: int | None = None) -> int:
    """Re-evaluate every live session (of one branch, or all); return how many changed."""
    lock_schedule(session)
    where = "status <> 'CANCELLED'" + (" AND branch_id = :b" if branch_id is not None else "")
    ids = [
        int(r[0])
        for r in session.execute(
            text(f"SELECT id FROM class_sessions WHERE {where}"), {"b": branch_id}
        )
    ]
    changed = 0
    for start in range(0, len(ids), 50_000):
        changed += len(evaluate(session, ids[start : start + 50_000]))
    return changed
