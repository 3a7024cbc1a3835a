"""The repair's statements: each cancels or pauses one kind of duplicate and audits it.

Every statement takes the parameters of `audit.actor_params`, :reason, :now and BINDS.
"""

from __future__ import annotations

from komawari.db import rules
from komawari.ops.sql import audit
from komawari.scheduling import keys

_CANCEL_SET = (
    "status = 'CANCELLED', cancel_reason = coalesce(s.cancel_reason, :reason),"
    " cancelled_at = coalesce(s.cancelled_at, now()), conflicts_with = '{}', updated_at = now()"
)


def _cancelled(tag: str, rule: str, occurrence: str) -> audit.AuditRows:
    return audit.audit_cte(
        "changed",
        tag=tag,
        action="session.cancel_duplicate",
        subject_type="session",
        series="series_id",
        occurrence=occurrence,
        reason=":reason",
        details=f"jsonb_build_object('duplicate_of_id', duplicate_of_id, 'rule', '{rule}')",
    )


_EXACT_AUDIT = _cancelled("exact", "same lesson", "original_date")
_OCCURRENCE_AUDIT = _cancelled("occurrence", "same occurrence", "date")
_FUTURE_AUDIT = _cancelled("future", "paused series", "original_date")
_SERIES_AUDIT = audit.audit_cte(
    "changed",
    tag="series",
    action="series.pause_duplicate",
    subject_type="series",
    series="id",
    reason="status_reason",
    details="jsonb_build_object('duplicate_of_id', duplicate_of_id)",
)
BINDS = audit.binds(_EXACT_AUDIT, _OCCURRENCE_AUDIT, _FUTURE_AUDIT, _SERIES_AUDIT)

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
audited AS ({_EXACT_AUDIT.sql})
SELECT id, duplicate_of_id FROM changed
"""  # noqa: S608 - composed from module constants; values are bind parameters

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
audited AS ({_OCCURRENCE_AUDIT.sql})
SELECT id, duplicate_of_id, was_cancelled FROM changed
"""  # noqa: S608 - composed from module constants; values are bind parameters

# 3. Duplicate ACTIVE series (promise 3): the earliest stays ACTIVE, the others pause.
SERIES_SQL = f"""
WITH ranked AS (
    SELECT id, first_value(id) OVER w AS keep_id, row_number() OVER w AS rn
      FROM class_series WHERE {rules.ACTIVE_SERIES}
    WINDOW w AS (PARTITION BY {rules.SERIES_KEY} ORDER BY {rules.KEEP_ORDER})
),
changed AS (
    UPDATE class_series cs SET status = 'PAUSED', duplicate_of_id = r.keep_id,
           status_reason = 'duplicate of series ' || r.keep_id, updated_at = now()
      FROM ranked r WHERE cs.id = r.id AND r.rn > 1
    RETURNING cs.id, cs.duplicate_of_id, cs.branch_id, cs.status_reason
),
audited AS ({_SERIES_AUDIT.sql})
SELECT id, duplicate_of_id FROM changed
"""  # noqa: S608 - composed from module constants; values are bind parameters

# 4. Future sessions of those paused series that duplicate a live session of the kept
# series (group lessons, so NULL students match, and their titles too; private copies
# were already caught by step 1).
_SAME_LESSON = keys.same((*keys.LESSON_KEY, "title"), "k", "s", null_safe=("student_id", "title"))
FUTURE_SQL = f"""
WITH dup AS (
    SELECT DISTINCT ON (s.id) s.id, k.id AS keep_id
      FROM class_series p
      JOIN class_sessions s ON s.series_id = p.id AND s.status <> 'CANCELLED'
      JOIN branches b ON b.id = s.branch_id
      JOIN class_sessions k ON k.series_id = p.duplicate_of_id AND k.status <> 'CANCELLED'
           AND {_SAME_LESSON}
     WHERE p.status = 'PAUSED' AND p.duplicate_of_id IS NOT NULL
       AND s.date >= {rules.today_sql("b.time_zone")}
     ORDER BY s.id, k.created_at, k.id
),
changed AS (
    UPDATE class_sessions s SET {_CANCEL_SET}, duplicate_of_id = d.keep_id
      FROM dup d WHERE s.id = d.id
    RETURNING s.id, s.duplicate_of_id, s.branch_id, s.series_id, s.original_date
),
audited AS ({_FUTURE_AUDIT.sql})
SELECT id, duplicate_of_id FROM changed
"""  # noqa: S608 - composed from module constants; values are bind parameters

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
