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

# Every committed session was booked before the rows this statement makes: writers hold
# the schedule lock and class_sessions.created_at defaults to statement_timestamp(), taken
# under it. So new rows never change an existing row's verdict, and their own verdicts
# (blockers among existing rows, then among earlier rows of the batch) are decided here,
# before the insert: no UPDATE afterwards. The rule is komawari.scheduling.conflicts.
_STUDENT_LOOKUP = """
      JOIN LATERAL (
            SELECT c.id, c.created_at, c.status, c.starts_at, c.ends_at
              FROM class_sessions c
             WHERE c.student_id = es.student_id
               AND c.starts_at > es.starts_at - interval '26 hours' AND c.starts_at < es.ends_at
            OFFSET 0
      ) b ON true
"""

_LIVE_OVERLAP = (
    "b.status <> 'CANCELLED' AND b.starts_at < {e}.ends_at AND {e}.starts_at < b.ends_at"
)
_NEAR_NEW = (
    "{e2}.new_id < {e}.new_id AND {e2}.starts_at < {e}.ends_at AND {e}.starts_at < {e2}.ends_at"
)


def _new_pairs(src: str, key: str) -> str:
    """SQL of (new_id, blocker, booked): rows of `src` paired with earlier new rows sharing `key`.

    In one zone, overlapping lessons share their local date (a lesson ends on the date it
    starts), so an equi-join on the date finds them. Across zones only the rows of a `key`
    met in several zones are paired, by neighbouring 26-hour buckets of instants.
    """
    return f"""
    SELECT e.new_id, e2.new_id, statement_timestamp()
      FROM {src} e JOIN {src} e2
        ON e2.{key} = e.{key} AND e2.day = e.day AND e2.time_zone = e.time_zone
     WHERE {_NEAR_NEW.format(e="e", e2="e2")}
    UNION
    SELECT e.new_id, e2.new_id, statement_timestamp()
      FROM {src} e CROSS JOIN near
      JOIN {src} e2 ON e2.{key} = e.{key} AND e2.bucket = e.bucket + near.d
     WHERE e.{key} IN (SELECT {key} FROM {src} GROUP BY {key}
                        HAVING min(time_zone) <> max(time_zone))
       AND e2.time_zone <> e.time_zone AND {_NEAR_NEW.format(e="e", e2="e2")}
"""


# The planner estimates one row for every CTE, so it would join the batch's new rows with
# each other by nested loops (quadratic) or by merge joins that sort them again and again.
# Generation runs its statement with both off: hash joins, and laterals for the index
# probes above (a lateral still runs as a nested loop, which is what a probe wants).
# JIT off too: a disabled plan type adds a huge cost, which would trigger JIT compiling
# that costs seconds.
NO_NESTLOOP = (
    "SELECT set_config('enable_nestloop', 'off', true),"
    " set_config('enable_mergejoin', 'off', true), set_config('jit', 'off', true)"
)
NESTLOOP = (
    "SELECT set_config('enable_nestloop', 'on', true), set_config('enable_mergejoin', 'on', true)"
)

GENERATE_SQL = f"""
WITH s AS ({_WINDOW} WHERE cs.id = ANY(CAST(:ids AS bigint[])) AND cs.status = 'ACTIVE'),
cand AS (
    SELECT s.*, d::date AS day
      FROM s, generate_series(s.w_start::timestamp, s.w_end::timestamp, interval '1 day') AS d
     WHERE s.w_start <= s.w_end AND {_MEETS}
),
twin AS MATERIALIZED (
    -- Two series of one pair may meet at the same time on a shared weekday: the lesson is
    -- made once (by the older series), never twice (promise 1).
    SELECT s1.id AS older, s2.id AS newer
      FROM s s1 JOIN s s2
        ON s2.teacher_id = s1.teacher_id AND s2.student_id = s1.student_id
       AND s2.start_time = s1.start_time AND s2.end_time = s1.end_time
     WHERE s1.kind = 'PRIVATE' AND s2.kind = 'PRIVATE' AND s1.id < s2.id
       AND (s1.weekdays & s2.weekdays) <> 0
),
twin_day AS (
    SELECT c.id, c.day
      FROM cand c JOIN twin t ON t.newer = c.id
      JOIN cand o ON o.id = t.older AND o.day = c.day
),
flagged AS (
    SELECT c.*,
           EXISTS (SELECT 1 FROM branch_closures bc
                    WHERE bc.branch_id = c.branch_id AND bc.date = c.day) AS closed,
           EXISTS (SELECT 1 FROM class_sessions o
                    WHERE o.series_id = c.id AND o.original_date = c.day) AS occurrence_exists,
           c.kind = 'PRIVATE' AND ((c.id, c.day) IN (SELECT id, day FROM twin_day) OR EXISTS (
               SELECT 1 FROM class_sessions x
                WHERE x.date = c.day AND x.start_time = c.start_time
                  AND x.end_time = c.end_time AND x.teacher_id = c.teacher_id
                  AND x.student_id = c.student_id AND x.kind = 'PRIVATE'
                  AND x.status <> 'CANCELLED'
                  AND (x.series_id IS DISTINCT FROM c.id OR x.original_date <> c.day)
           )) AS same_lesson_exists
      FROM cand c
),
elig AS MATERIALIZED (
    -- Ids are drawn in (series, date) order, and rows inserted in id order: every writer
    -- takes the key locks in one order, so concurrent runs cannot deadlock on them.
    -- bucket: 26-hour slices of time. Two lessons that overlap start less than 26 hours
    -- apart (a lesson lasts under a day plus a DST shift), so their buckets differ by at
    -- most one, whatever their zones and local dates.
    SELECT o.*, floor(extract(epoch FROM o.starts_at) / 93600)::bigint AS bucket
      FROM (SELECT f.*, nextval(CAST('class_sessions_id_seq' AS regclass)) AS new_id,
                   komawari_local_instant(f.day, f.start_time, f.time_zone) AS starts_at,
                   komawari_local_instant(f.day, f.end_time, f.time_zone) AS ends_at
              FROM flagged f
             WHERE NOT f.closed AND NOT f.same_lesson_exists AND NOT f.occurrence_exists
             ORDER BY f.id, f.day) o
),
elig_students AS MATERIALIZED (
    SELECT e.new_id, e.student_id, e.day, e.time_zone, e.bucket, e.starts_at, e.ends_at
      FROM elig e WHERE e.student_id IS NOT NULL
    UNION ALL
    SELECT e.new_id, en.student_id, e.day, e.time_zone, e.bucket, e.starts_at, e.ends_at
      FROM elig e JOIN series_enrolments en
        ON en.series_id = e.id AND en.from_date <= e.day
       AND (en.until_date IS NULL OR en.until_date >= e.day)
     WHERE e.kind = 'GROUP'
),
near AS (SELECT d FROM (VALUES (-1), (0), (1)) AS k(d)),
-- The live group lessons of the batch's students around the batch's dates (local dates of
-- overlapping lessons differ by at most two days across zones), found in one pass: a
-- lookup per new row would read each student's whole attendance history.
attended AS MATERIALIZED (
    SELECT sb.student_id, c.id, c.created_at, c.starts_at, c.ends_at,
           floor(extract(epoch FROM c.starts_at) / 93600)::bigint AS bucket
      FROM session_attendees sb JOIN class_sessions c ON c.id = sb.session_id
     WHERE c.status <> 'CANCELLED'
       AND c.date BETWEEN (SELECT min(day) - 2 FROM elig) AND (SELECT max(day) + 2 FROM elig)
       AND sb.student_id IN (SELECT student_id FROM elig_students)
),
blockers AS (
    -- Existing sessions are looked up through laterals (index probes per new row; OFFSET 0
    -- keeps them laterals); new rows are paired with each other by hash joins.
    SELECT e.new_id, b.id AS blocker, b.created_at AS booked
      FROM elig e JOIN LATERAL (
            SELECT b.id, b.created_at FROM class_sessions b
             WHERE b.teacher_id = e.teacher_id AND b.starts_at > e.starts_at - interval '26 hours'
               AND {_LIVE_OVERLAP.format(e="e")} OFFSET 0) b ON true
    UNION
    SELECT e.new_id, b.id, b.created_at
      FROM elig e JOIN LATERAL (
            SELECT b.id, b.created_at FROM class_sessions b
             WHERE b.room_id = e.room_id AND b.starts_at > e.starts_at - interval '26 hours'
               AND {_LIVE_OVERLAP.format(e="e")} OFFSET 0) b ON true
     WHERE e.room_id IS NOT NULL
    UNION
    SELECT es.new_id, b.id, b.created_at
      FROM elig_students es {_STUDENT_LOOKUP}
     WHERE {_LIVE_OVERLAP.format(e="es")}
    UNION
    SELECT es.new_id, b.id, b.created_at
      FROM elig_students es CROSS JOIN near
      JOIN attended b ON b.student_id = es.student_id AND b.bucket = es.bucket + near.d
     WHERE b.starts_at < es.ends_at AND es.starts_at < b.ends_at
    UNION {_new_pairs("elig", "teacher_id")}
    UNION {_new_pairs("elig", "room_id")}
    UNION {_new_pairs("elig_students", "student_id")}
),
verdict AS (
    SELECT new_id, array_agg(blocker ORDER BY booked, blocker) AS blockers
      FROM blockers GROUP BY new_id
),
ins AS (
    INSERT INTO class_sessions (id, branch_id, time_zone, series_id, original_date, kind,
                                title, date, start_time, end_time, teacher_id, student_id,
                                room_id, status, conflicts_with)
    SELECT e.new_id, e.branch_id, e.time_zone, e.id, e.day, e.kind, e.title, e.day,
           e.start_time, e.end_time, e.teacher_id, e.student_id, e.room_id,
           CASE WHEN v.blockers IS NULL THEN 'CONFIRMED'
                ELSE 'CONFLICTED' END::session_status,
           coalesce(v.blockers, '{{}}')
      FROM elig e LEFT JOIN verdict v ON v.new_id = e.new_id
     ORDER BY e.new_id
    ON CONFLICT ON CONSTRAINT uq_class_sessions_occurrence DO NOTHING
    RETURNING id, series_id, original_date, kind, status
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
    SELECT f.id, f.branch_id, f.day FROM flagged f
     WHERE NOT f.closed AND NOT f.same_lesson_exists AND f.occurrence_exists
    UNION ALL
    -- Made by a concurrent writer after this statement's snapshot (ON CONFLICT skipped
    -- it). NOT IN over a CTE becomes a hashed subplan; a NOT EXISTS was planned as a
    -- quadratic nested loop from the CTE's one-row estimate.
    SELECT e.id, e.branch_id, e.day FROM elig e
     WHERE (e.id, e.day) NOT IN (SELECT i.series_id, i.original_date FROM ins i)
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
SELECT (SELECT count(*) FROM ins) AS created,
       -- The ids only when a concurrent writer won a race (see generate_batch).
       CASE WHEN (SELECT count(*) FROM elig) > (SELECT count(*) FROM ins)
            THEN (SELECT array_agg(id) FROM ins) END AS created_ids,
       (SELECT count(*) FROM ins WHERE status = 'CONFLICTED') AS conflicted,
       (SELECT count(*) FROM elig) - (SELECT count(*) FROM ins) AS lost_races,
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
) s, generate_series(s.w_start::timestamp, s.w_end::timestamp, interval '1 day') AS d
 WHERE s.w_start <= s.w_end AND {_MEETS}
"""
