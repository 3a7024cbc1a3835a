"""The doctor's evidence queries: the incident's counting queries, built in (read-only)."""

from __future__ import annotations

from komawari.db import rules
from komawari.scheduling import keys

_WHERE_DATE = "(CAST(:day AS date) IS NULL OR date = CAST(:day AS date))"

BY_DATE_SQL = f"""
SELECT d.date, d.total, d.confirmed, d.conflicted, coalesce(e.excess, 0) AS excess
  FROM (SELECT date, count(*) AS total,
               count(*) FILTER (WHERE status = 'CONFIRMED') AS confirmed,
               count(*) FILTER (WHERE status = 'CONFLICTED') AS conflicted
          FROM class_sessions WHERE status <> 'CANCELLED' AND {_WHERE_DATE}
         GROUP BY date) d
  LEFT JOIN (SELECT date, sum(n - 1) AS excess
               FROM (SELECT date, count(*) AS n FROM class_sessions
                      WHERE {rules.LIVE_PRIVATE} AND {_WHERE_DATE}
                      GROUP BY {rules.LESSON_KEY}) k
              GROUP BY date) e USING (date)
 ORDER BY d.date
"""  # noqa: S608 - composed from module constants; values are bind parameters

WORST_SQL = f"""
SELECT {keys.columns(keys.LESSON_KEY, "k")}, t.name AS teacher, st.name AS student,
       k.copies, k.confirmed, k.conflicted, k.series_ids, k.one_offs
  FROM (SELECT {rules.LESSON_KEY}, count(*) AS copies,
               count(*) FILTER (WHERE status = 'CONFIRMED') AS confirmed,
               count(*) FILTER (WHERE status = 'CONFLICTED') AS conflicted,
               coalesce(array_agg(DISTINCT series_id) FILTER (WHERE series_id IS NOT NULL),
                        '{{}}') AS series_ids,
               count(*) FILTER (WHERE series_id IS NULL) AS one_offs
          FROM class_sessions WHERE {rules.LIVE_PRIVATE} AND {_WHERE_DATE}
         GROUP BY {rules.LESSON_KEY}
        HAVING count(*) > 1) k
  JOIN teachers t ON t.id = k.teacher_id
  JOIN students st ON st.id = k.student_id
 ORDER BY k.copies DESC, k.date, k.start_time, k.teacher_id
 LIMIT :top
"""  # noqa: S608 - composed from module constants; values are bind parameters

OCCURRENCE_EXCESS_SQL = f"""
SELECT coalesce(sum(n - 1), 0) FROM (
    SELECT count(*) AS n FROM class_sessions WHERE {rules.HAS_OCCURRENCE}
     GROUP BY {rules.OCCURRENCE_KEY} HAVING count(*) > 1) g
"""  # noqa: S608 - composed from module constants; values are bind parameters

LESSON_EXCESS_SQL = f"""
SELECT coalesce(sum(n - 1), 0) FROM (
    SELECT count(*) AS n FROM class_sessions WHERE {rules.LIVE_PRIVATE}
     GROUP BY {rules.LESSON_KEY} HAVING count(*) > 1) g
"""  # noqa: S608 - composed from module constants; values are bind parameters

SERIES_GROUPS_SQL = f"""
SELECT min(b.name) AS branch, min(t.name) AS teacher, min(coalesce(st.name, cs.title)) AS party,
       cs.start_time, cs.end_time, cs.weekdays,
       array_agg(cs.id ORDER BY cs.created_at, cs.id) AS ids
  FROM class_series cs
  JOIN branches b ON b.id = cs.branch_id
  JOIN teachers t ON t.id = cs.teacher_id
  LEFT JOIN students st ON st.id = cs.student_id
 WHERE cs.status = 'ACTIVE'
 GROUP BY {rules.series_key("cs")}
HAVING count(*) > 1
 ORDER BY count(*) DESC, min(cs.id)
"""  # noqa: S608 - composed from module constants; values are bind parameters

INACTIVE_FUTURE_SQL = f"""
SELECT cs.status::text, count(*)
  FROM class_sessions s
  JOIN class_series cs ON cs.id = s.series_id
  JOIN branches b ON b.id = s.branch_id
 WHERE s.status <> 'CANCELLED' AND cs.status IN ('PAUSED', 'ENDED')
   AND s.date >= {rules.today_sql("b.time_zone")}
 GROUP BY cs.status
"""  # noqa: S608 - composed from module constants; values are bind parameters

CLOSURE_SQL = """
SELECT count(*) FROM class_sessions s
  JOIN branch_closures c ON c.branch_id = s.branch_id AND c.date = s.date
 WHERE s.status <> 'CANCELLED'
"""

CONFLICTED_SQL = f"""
SELECT count(*) FROM class_sessions WHERE status = 'CONFLICTED' AND {_WHERE_DATE}
"""  # noqa: S608 - composed from module constants; values are bind parameters
