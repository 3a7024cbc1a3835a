"""The set-based SQL of generation: one statement per batch of series.

Candidates are expanded in the database (generate_series), closures are skipped, and
the insert relies on the (series, original date) key through ON CONFLICT ON CONSTRAINT
with that name only: every other guard still raises. What the insert did not create is
counted and, for "already exists", written to the audit log in the same statement.
"""

from __future__ import annotations

# Per-branch "today" and horizon come from :now in the branch's own zone. With :fill_date
# the window is that one day whatever the watermark (a closure removed), and the watermark
# is left alone.
_WINDOW = """
    SELECT cs.id, cs.branch_id, b.time_zone, cs.kind, cs.title, cs.teacher_id, cs.student_id,
           cs.room_id, cs.weekdays, cs.start_time, cs.end_time, cs.first_date,
           cs.interval_weeks,
           greatest(cs.first_date,
                    (CAST(:now AS timestamptz) AT TIME ZONE b.time_zone)::date,
                    coalesce(CAST(:fill_date AS date),
                             cs.generated_through + 1, cs.first_date)) AS w_start,
           least(coalesce(cs.last_date, 'infinity'::date),
                 coalesce(CAST(:fill_date AS date), 'infinity'::date),
                 coalesce(CAST(:through AS date),
                          (CAST(:now AS timestamptz) AT TIME ZONE b.time_zone)::date
                          + CAST(:horizon AS int))) AS w_end
      FROM class_series cs JOIN branches b ON b.id = cs.branch_id
"""

# The series of the run that still have dates to materialise (keyset by id).
PENDING_SQL = f"""
SELECT w.id FROM ({_WINDOW}
     WHERE cs.status = 'ACTIVE'
       AND (CAST(:branch_id AS bigint) IS NULL OR cs.branch_id = CAST(:branch_id AS bigint))
       AND (CAST(:series_id AS bigint) IS NULL OR cs.id = CAST(:series_id AS bigint))
       AND cs.id > :after
) w
 WHERE w.w_start <= w.w_end
 ORDER BY w.id
 LIMIT :limit
"""

_MEETS = """
       (s.weekdays & (1 << (extract(isodow FROM d)::int - 1))) <> 0
   AND ((d::date - (s.first_date - (extract(isodow FROM s.first_date)::int - 1))) / 7)
       % s.interval_weeks = 0
"""

GENERATE_SQL = f"""
WITH s AS ({_WINDOW} WHERE cs.id = ANY(CAST(:ids AS bigint[])) AND cs.status = 'ACTIVE'),
cand AS (
    SELECT s.*, d::date AS day
      FROM s, generate_series(s.w_start, s.w_end, interval '1 day') AS d
     WHERE s.w_start <= s.w_end AND {_MEETS}
),
flagged AS (
    SELECT c.*,
           EXISTS (SELECT 1 FROM branch_closures bc
                    WHERE bc.branch_id = c.branch_id AND bc.date = c.day) AS closed,
           -- Two series of one pair may meet at the same time on a shared weekday: the
           -- lesson is made once (by the older series), never twice (promise 1).
           c.kind = 'PRIVATE' AND (row_number() OVER (
               PARTITION BY c.kind, c.day, c.start_time, c.end_time, c.teacher_id, c.student_id
               ORDER BY c.id) > 1 OR EXISTS (
               SELECT 1 FROM class_sessions x
                WHERE x.date = c.day AND x.start_time = c.start_time
                  AND x.end_time = c.end_time AND x.teacher_id = c.teacher_id
                  AND x.student_id = c.student_id AND x.kind = 'PRIVATE'
                  AND x.status <> 'CANCELLED'
                  AND (x.series_id IS DISTINCT FROM c.id OR x.original_date <> c.day)
           )) AS same_lesson_exists
      FROM cand c
),
ins AS (
    INSERT INTO class_sessions (branch_id, time_zone, series_id, original_date, kind, title,
                                date, start_time, end_time, teacher_id, student_id, room_id)
    SELECT f.branch_id, f.time_zone, f.id, f.day, f.kind, f.title, f.day, f.start_time,
           f.end_time, f.teacher_id, f.student_id, f.room_id
      FROM flagged f
     WHERE NOT f.closed AND NOT f.same_lesson_exists
     ORDER BY f.id, f.day
    ON CONFLICT ON CONSTRAINT uq_class_sessions_occurrence DO NOTHING
    RETURNING id, series_id, original_date, kind
),
att AS (
    INSERT INTO session_attendees (session_id, student_id)
    SELECT i.id, e.student_id
      FROM ins i JOIN series_enrolments e
        ON e.series_id = i.series_id AND e.from_date <= i.original_date
       AND (e.until_date IS NULL OR e.until_date >= i.original_date)
     WHERE i.kind = 'GROUP'
    RETURNING session_id
),
existing AS (
    SELECT f.id, f.branch_id, f.day
      FROM flagged f
     WHERE NOT f.closed AND NOT f.same_lesson_exists
       -- NOT IN over a CTE becomes a hashed subplan (a NOT EXISTS here was planned as a
       -- nested loop from the CTE's one-row estimate: quadratic).
       AND (f.id, f.day) NOT IN (SELECT i.series_id, i.original_date FROM ins i)
),
skip_audit AS (
    INSERT INTO audit_events (actor_type, actor, action, subject_type, subject_id, branch_id,
                              series_id, occurrence_date, reason, run_id, details)
    SELECT 'generator', :actor, 'occurrence.skipped_existing', 'series', e.id, e.branch_id,
           e.id, e.day, 'already exists', :run_id, '{{}}'::jsonb
      FROM existing e
    RETURNING 1
),
dup_audit AS (
    INSERT INTO audit_events (actor_type, actor, action, subject_type, subject_id, branch_id,
                              series_id, occurrence_date, reason, run_id, details)
    SELECT 'generator', :actor, 'occurrence.skipped_duplicate', 'series', f.id, f.branch_id,
           f.id, f.day, 'the same lesson already exists', :run_id, '{{}}'::jsonb
      FROM flagged f WHERE NOT f.closed AND f.same_lesson_exists
    RETURNING 1
),
watermark AS (
    UPDATE class_series cs
       SET generated_through = s.w_end
      FROM s
     WHERE cs.id = s.id AND s.w_start <= s.w_end AND CAST(:fill_date AS date) IS NULL
       AND (cs.generated_through IS NULL OR cs.generated_through < s.w_end)
    RETURNING 1
)
SELECT coalesce((SELECT array_agg(id) FROM ins), '{{}}') AS created_ids,
       (SELECT count(*) FROM flagged WHERE closed) AS skipped_closed,
       (SELECT count(*) FROM skip_audit) AS skipped_existing,
       (SELECT count(*) FROM dup_audit) AS skipped_duplicate,
       (SELECT count(*) FROM att) AS attendees,
       (SELECT count(*) FROM watermark) AS series_done
"""

# Occurrences that PAUSED series would have had in the run's window: reported, not made.
PAUSED_SQL = f"""
SELECT count(*) FROM ({_WINDOW}
     WHERE cs.status = 'PAUSED'
       AND (CAST(:branch_id AS bigint) IS NULL OR cs.branch_id = CAST(:branch_id AS bigint))
       AND (CAST(:series_id AS bigint) IS NULL OR cs.id = CAST(:series_id AS bigint))
) s, generate_series(s.w_start, s.w_end, interval '1 day') AS d
 WHERE s.w_start <= s.w_end AND {_MEETS}
"""
