"""The set-based SQL of generation: one statement per batch of series.

Candidates are expanded in the database (generate_series), closures are skipped, and
the insert relies on the (series, original date) key through ON CONFLICT ON CONSTRAINT
with that name only: every other guard still raises. What the insert did not create is
counted and, for "already exists", written to the audit log in the same statement.
"""

from __future__ import annotations

from komawari.db import guards
from komawari.generation.verdict_sql import VERDICT_CTES, bucket
from komawari.notices.sql import NEW_SERIES_CTE
from komawari.scheduling import keys
from komawari.sessions.models import OCCURRENCE_GUARD

# Per-branch "today" and horizon come from :now in the branch's own zone. With :fill_date
# the window is that one day whatever the watermark (a closure removed), and the watermark
# is left alone; the day is filled up to the horizon or, beyond it, when an earlier run
# (told to go further) has passed it: no later run goes back behind the watermark.
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
                 greatest(coalesce(CAST(:through AS date),
                                   (CAST(:now AS timestamptz) AT TIME ZONE b.time_zone)::date
                                   + CAST(:horizon AS int)),
                          CASE WHEN CAST(:fill_date AS date) IS NOT NULL
                               THEN cs.generated_through END)) AS w_end
      FROM class_series cs JOIN branches b ON b.id = cs.branch_id
"""

# The series of the run that still have dates to materialise, a teacher's together (keyset
# by teacher, then id): a batch then finds most of its teachers' clashes among its own new
# rows, instead of reading again every lesson earlier batches made for the same teachers.
PENDING_SQL = f"""
SELECT w.teacher_id, w.id FROM ({_WINDOW}
     WHERE cs.status = 'ACTIVE'
       AND (CAST(:branch_id AS bigint) IS NULL OR cs.branch_id = CAST(:branch_id AS bigint))
       AND (CAST(:series_id AS bigint) IS NULL OR cs.id = CAST(:series_id AS bigint))
       AND (cs.teacher_id, cs.id) > (CAST(:after_teacher AS bigint), CAST(:after AS bigint))
) w
 WHERE w.w_start <= w.w_end
 ORDER BY w.teacher_id, w.id
 LIMIT :limit
"""  # noqa: S608 - composed from module constants; values are bind parameters

# The days a series `s` meets in its window [w_start, w_end], without visiting the others:
# for each of its weekdays k (bit k of the mask, Monday = 0), every (7 x interval_weeks)th
# day from that weekday in the week of its first date, from the first not before w_start.
# (Weeks count from the first date's week, as in komawari.scheduling.recurrence.)
_MEETING_DAYS = """
      CROSS JOIN LATERAL (
            SELECT s.first_date - (extract(isodow FROM s.first_date)::int - 1) + k AS origin,
                   7 * s.interval_weeks AS step
              FROM generate_series(0, 6) AS k
             WHERE (s.weekdays & (1 << k)) <> 0
      ) wd
      CROSS JOIN LATERAL generate_series(
            (wd.origin + wd.step * greatest(0, (s.w_start - wd.origin + wd.step - 1) / wd.step))
              ::timestamp,
            s.w_end::timestamp,
            make_interval(days => wd.step)) AS d
"""

# The planner estimates one row for every CTE, so it would join the batch's new rows with
# each other by nested loops (quadratic) or by merge joins that sort them again and again.
# Generation runs its statement with both off: hash joins, and laterals for the index
# probes of verdict_sql.py (a lateral still runs as a nested loop, which is what a probe wants).
# JIT off too: a disabled plan type adds a huge cost, which would trigger JIT compiling
# that costs seconds.
NO_NESTLOOP_MERGEJOIN_JIT = (
    "SELECT set_config('enable_nestloop', 'off', true),"
    " set_config('enable_mergejoin', 'off', true), set_config('jit', 'off', true)"
)
# A pause row `p` is a break (it has a last day) that was not ended, and day `c.day` is
# one of its days.
ON_BREAK_SQL = (
    "p.ended_at IS NULL AND p.until_date IS NOT NULL AND c.day BETWEEN p.from_date AND p.until_date"
)

NESTLOOP = (
    "SELECT set_config('enable_nestloop', 'on', true), set_config('enable_mergejoin', 'on', true)"
)

# Promise 1: a candidate is not made when the same live private lesson exists (the rows
# and key of the guard UNIQUE_1ON1; a candidate holds its date as `day`).
_LIVE_PRIVATE = guards.LIVE_PRIVATE
_SAME_LESSON = keys.same(keys.LESSON_KEY, "x", "c", renamed={"date": "day"})
_SAME_LESSON_ANY_DAY = keys.same(tuple(k for k in keys.LESSON_KEY if k != "date"), "s2", "s1")

GENERATE_SQL = f"""
WITH s AS ({_WINDOW} WHERE cs.id = ANY(CAST(:ids AS bigint[])) AND cs.status = 'ACTIVE'),
cand AS (
    SELECT s.*, d::date AS day
      FROM s {_MEETING_DAYS}
     WHERE s.w_start <= s.w_end
),
twin AS MATERIALIZED (
    -- Two series of one pair may meet at the same time on a shared weekday: the lesson is
    -- made once (by the older series), never twice (promise 1).
    SELECT s1.id AS older, s2.id AS newer
      FROM s s1 JOIN s s2
        ON {_SAME_LESSON_ANY_DAY}
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
           -- A day of a break of the series (not ended): no lesson, counted as paused.
           EXISTS (SELECT 1 FROM series_pauses p
                    WHERE p.series_id = c.id AND {ON_BREAK_SQL}) AS on_break,
           -- (The batch's series named again: the planner, with nested loops off, hashes
           -- the occurrences of these series only, not of every series.)
           EXISTS (SELECT 1 FROM class_sessions o
                    WHERE o.series_id = c.id AND o.original_date = c.day
                      AND o.series_id = ANY(CAST(:ids AS bigint[]))) AS occurrence_exists,
           c.kind = 'PRIVATE' AND ((c.id, c.day) IN (SELECT id, day FROM twin_day) OR EXISTS (
               SELECT 1 FROM (SELECT * FROM class_sessions WHERE {_LIVE_PRIVATE}) x
                WHERE {_SAME_LESSON}
                  AND (x.series_id IS DISTINCT FROM c.id OR x.original_date <> c.day)
           )) AS same_lesson_exists
      FROM cand c
),
-- Each distinct local (date, time, zone) turned into an instant once: a batch's lessons
-- share a few of them (about 1,000 for 50,000 lessons), and komawari_local_instant() is a
-- PL/pgSQL call.
instant AS MATERIALIZED (
    SELECT x.day, x.t, x.time_zone, komawari_local_instant(x.day, x.t, x.time_zone) AS at
      FROM (SELECT day, start_time AS t, time_zone FROM flagged
            UNION SELECT day, end_time, time_zone FROM flagged) x
),
elig AS MATERIALIZED (
    -- Ids are drawn in (series, date) order, and rows inserted in id order: every writer
    -- takes the key locks in one order, so concurrent runs cannot deadlock on them.
    SELECT o.*, {bucket("o.starts_at")} AS bucket
      -- Only the columns the verdicts and the insert read: a narrower row sorts faster.
      FROM (SELECT f.id, f.branch_id, f.time_zone, f.kind, f.title, f.teacher_id,
                   f.student_id, f.room_id, f.start_time, f.end_time, f.day,
                   nextval(CAST('class_sessions_id_seq' AS regclass)) AS new_id,
                   i1.at AS starts_at, i2.at AS ends_at
              FROM flagged f
              JOIN instant i1
                ON i1.day = f.day AND i1.t = f.start_time AND i1.time_zone = f.time_zone
              JOIN instant i2
                ON i2.day = f.day AND i2.t = f.end_time AND i2.time_zone = f.time_zone
             WHERE NOT f.closed AND NOT f.on_break AND NOT f.same_lesson_exists
               AND NOT f.occurrence_exists
             ORDER BY f.id, f.day) o
),
{VERDICT_CTES}ins AS (
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
    ON CONFLICT ON CONSTRAINT {OCCURRENCE_GUARD} DO NOTHING
    RETURNING id, series_id, original_date, kind, status
),{NEW_SERIES_CTE}
att AS (
    INSERT INTO session_attendees (session_id, student_id)
    SELECT i.id, e.student_id
      FROM ins i JOIN series_enrolments e
        ON e.series_id = i.series_id AND e.from_date <= i.original_date
       AND (e.until_date IS NULL OR e.until_date >= i.original_date)
     WHERE i.kind = 'GROUP'
    RETURNING session_id
),
tally AS MATERIALIZED (
    SELECT (SELECT count(*) FROM elig) AS eligible, count(*) AS created,
           count(*) FILTER (WHERE status = 'CONFLICTED') AS conflicted
      FROM ins
),
existing AS (
    SELECT f.id, f.branch_id, f.day FROM flagged f
     WHERE NOT f.closed AND NOT f.on_break AND NOT f.same_lesson_exists AND f.occurrence_exists
    UNION ALL
    -- Made by a concurrent writer after this statement's snapshot (ON CONFLICT skipped
    -- it): looked for only when the insert made fewer rows than it was given. NOT IN over
    -- a CTE becomes a hashed subplan; a NOT EXISTS was planned as a quadratic nested loop
    -- from the CTE's one-row estimate.
    SELECT e.id, e.branch_id, e.day FROM elig e
     WHERE (SELECT eligible > created FROM tally)
       AND (e.id, e.day) NOT IN (SELECT i.series_id, i.original_date FROM ins i)
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
      FROM flagged f WHERE NOT f.closed AND NOT f.on_break AND f.same_lesson_exists
    RETURNING 1
),
watermark AS (
    UPDATE class_series cs
       SET generated_through = s.w_end
      FROM s
     WHERE cs.id = ANY(CAST(:ids AS bigint[])) AND cs.id = s.id AND s.w_start <= s.w_end
       AND CAST(:fill_date AS date) IS NULL
       AND (cs.generated_through IS NULL OR cs.generated_through < s.w_end)
    RETURNING 1
)
SELECT t.created,
       -- The ids only when a concurrent writer won a race (see generate_batch).
       CASE WHEN t.eligible > t.created THEN (SELECT array_agg(id) FROM ins) END AS created_ids,
       t.conflicted,
       t.eligible - t.created AS lost_races,
       (SELECT count(*) FROM flagged WHERE closed) AS skipped_closed,
       (SELECT count(*) FROM flagged WHERE on_break AND NOT closed) AS skipped_break,
       (SELECT count(*) FROM skip_audit) AS skipped_existing,
       (SELECT count(*) FROM dup_audit) AS skipped_duplicate,
       (SELECT count(*) FROM att) AS attendees,
       (SELECT count(*) FROM watermark) AS series_done
  FROM tally t
"""  # noqa: S608 - composed from module constants; values are bind parameters

# Occurrences that PAUSED series would have had in the run's window: reported, not made.
# (The days of a break of an ACTIVE series are counted by GENERATE_SQL, as skipped_break.)
PAUSED_SQL = f"""
SELECT count(*) FROM ({_WINDOW}
     WHERE cs.status = 'PAUSED'
       AND (CAST(:branch_id AS bigint) IS NULL OR cs.branch_id = CAST(:branch_id AS bigint))
       AND (CAST(:series_id AS bigint) IS NULL OR cs.id = CAST(:series_id AS bigint))
) s {_MEETING_DAYS}
 WHERE s.w_start <= s.w_end
"""  # noqa: S608 - composed from module constants; values are bind parameters
