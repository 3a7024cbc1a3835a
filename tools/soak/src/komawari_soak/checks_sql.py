"""The soak checks' own SQL: promises 1 to 5 and 8, and the audit log, read from scratch.

Written on purpose without the application's key definitions, guard predicates or
conflict SQL (`scheduling/keys.py`, `ops/sql/`, `sessions/sql.py`, `generation/`): a check
that derived its rule from the code it checks would agree with that code's mistakes. Only
the tables and columns of the schema are shared. Values are always bind parameters.
"""

from __future__ import annotations

# Promise 1: live (non-cancelled) private sessions sharing (date, start, end, teacher,
# student). NULL students never occur on private rows (a check constraint), so `=` is enough.
LESSON_TWINS = """
SELECT date, start_time, end_time, teacher_id, student_id,
       array_agg(id ORDER BY created_at, id) AS ids
  FROM class_sessions
 WHERE status <> 'CANCELLED' AND kind = 'PRIVATE'
 GROUP BY date, start_time, end_time, teacher_id, student_id
HAVING count(*) > 1
"""

# The group equivalent the schema could have: live group sessions sharing (date, start, end,
# teacher, title). The schema guards private rows only, and the application books such a
# group twin (a one-off, or a duplicate of a PAUSED series' kept lesson) as CONFLICTED by
# the shared teacher; so it is reported, not failed (promise 5 checks that it is shown).
GROUP_TWINS = """
SELECT date, start_time, end_time, teacher_id, title, array_agg(id ORDER BY created_at, id) AS ids
  FROM class_sessions
 WHERE status <> 'CANCELLED' AND kind = 'GROUP'
 GROUP BY date, start_time, end_time, teacher_id, title
HAVING count(*) > 1
"""

# Promise 2: one row per (series, original date), whatever its status.
OCCURRENCE_TWINS = """
SELECT series_id, original_date, array_agg(id ORDER BY created_at, id) AS ids
  FROM class_sessions
 WHERE series_id IS NOT NULL AND original_date IS NOT NULL
 GROUP BY series_id, original_date
HAVING count(*) > 1
"""

# Promise 3: ACTIVE series sharing (branch, teacher, kind, student or title, start, end,
# weekdays); the weekdays are stored as one bitmask, so a set compares as an integer.
SERIES_TWINS = """
SELECT branch_id, teacher_id, kind::text AS kind,
       CASE WHEN kind = 'PRIVATE' THEN student_id::text ELSE title END AS party,
       start_time, end_time, weekdays, array_agg(id ORDER BY created_at, id) AS ids
  FROM class_series
 WHERE status = 'ACTIVE'
 GROUP BY branch_id, teacher_id, kind,
          CASE WHEN kind = 'PRIVATE' THEN student_id::text ELSE title END,
          start_time, end_time, weekdays
HAVING count(*) > 1
"""

# Promise 4: the dates an ACTIVE series meets from today (in its branch's zone: no run
# makes a past date, and a resume restarts from its own today, which is not later than
# the check's) through the date its watermark says generation covered (and its last date),
# that hold no row of the series, whatever its status (a moved row keeps its original
# date, a cancelled one stays), are not a closure day of the branch, and for which no run
# recorded that it skipped the date because the same lesson existed already.
# A series meets on day d when d's weekday is in its bitmask (bit 0 = Monday) and d falls
# in a meeting week: whole weeks since the Monday of its first date's week, modulo N.
MISSING_OCCURRENCES = """
WITH s AS (
    SELECT cs.id, cs.branch_id, cs.weekdays, cs.first_date, cs.interval_weeks,
           greatest(cs.first_date, (now() AT TIME ZONE b.time_zone)::date) AS from_day,
           least(cs.generated_through, coalesce(cs.last_date, cs.generated_through)) AS to_day
      FROM class_series cs JOIN branches b ON b.id = cs.branch_id
     WHERE cs.status = 'ACTIVE' AND cs.generated_through IS NOT NULL
), due AS (
    SELECT s.id, s.branch_id, d::date AS day
      FROM s, generate_series(s.from_day::timestamp, s.to_day::timestamp, interval '1 day') d
     WHERE s.from_day <= s.to_day
       AND (s.weekdays >> (extract(isodow FROM d)::int - 1)) & 1 = 1
       AND ((d::date - (s.first_date - (extract(isodow FROM s.first_date)::int - 1))) / 7)
           % s.interval_weeks = 0
)
SELECT due.id AS series_id, due.day
  FROM due
 WHERE NOT EXISTS (SELECT 1 FROM class_sessions c
                    WHERE c.series_id = due.id AND c.original_date = due.day)
   AND NOT EXISTS (SELECT 1 FROM branch_closures bc
                    WHERE bc.branch_id = due.branch_id AND bc.date = due.day)
   AND NOT EXISTS (SELECT 1 FROM audit_events a
                    WHERE a.action = 'occurrence.skipped_duplicate' AND a.series_id = due.id
                      AND a.occurrence_date = due.day)
 ORDER BY due.id, due.day
"""

# Promise 5, from scratch. What each live session holds, one row per resource: its teacher,
# its room, its private student and its group attendees. A lesson starts and ends on one
# local date, so it lasts under a day (plus a DST shift): two overlapping lessons start
# less than two days apart, which bounds the index range each lookup reads.
HELD = """
CREATE TEMPORARY TABLE soak_held ON COMMIT DROP AS
SELECT c.id AS sid, c.created_at AS booked, c.starts_at, c.ends_at, 't' AS kind,
       c.teacher_id AS res
  FROM class_sessions c WHERE c.status <> 'CANCELLED'
UNION
SELECT c.id, c.created_at, c.starts_at, c.ends_at, 'r', c.room_id
  FROM class_sessions c WHERE c.status <> 'CANCELLED' AND c.room_id IS NOT NULL
UNION
SELECT c.id, c.created_at, c.starts_at, c.ends_at, 's', c.student_id
  FROM class_sessions c WHERE c.status <> 'CANCELLED' AND c.student_id IS NOT NULL
UNION
SELECT c.id, c.created_at, c.starts_at, c.ends_at, 's', a.student_id
  FROM class_sessions c JOIN session_attendees a ON a.session_id = c.id
 WHERE c.status <> 'CANCELLED'
"""
HELD_INDEX = "CREATE INDEX ON soak_held (kind, res, starts_at)"
HELD_ANALYZE = "ANALYZE soak_held"

# Every live session with the earlier-booked live sessions that overlap it (half-open, in
# instants) and share a resource (expected), beside what the row says (status, named).
CLASHES = """
WITH expected AS (
    SELECT a.sid, array_agg(DISTINCT b.sid ORDER BY b.sid) AS blockers
      FROM soak_held a JOIN soak_held b
        ON b.kind = a.kind AND b.res = a.res
       AND b.starts_at > a.starts_at - interval '2 days' AND b.starts_at < a.ends_at
       AND a.starts_at < b.ends_at
       AND (b.booked, b.sid) < (a.booked, a.sid)
     GROUP BY a.sid
)
SELECT c.id, c.status::text AS status, c.date, c.start_time, c.end_time, c.teacher_id,
       c.conflicts_with AS named, coalesce(e.blockers, '{}') AS expected
  FROM class_sessions c LEFT JOIN expected e ON e.sid = c.id
 WHERE c.status <> 'CANCELLED'
   AND (c.status = 'CONFLICTED' OR cardinality(c.conflicts_with) > 0 OR e.sid IS NOT NULL)
 ORDER BY c.id
"""

# Promise 8, the make-up (振替) credit ledger, read without the application's guards
# (`attendance/models.py`: unique indexes) or its state rules (`attendance/credits.py`).
# A double issue: more than one credit for one (student, absent lesson), or more than one
# `issue` entry for one credit.
CREDIT_TWINS = """
SELECT student_id, absence_session_id, array_agg(id ORDER BY id) AS ids
  FROM credits
 GROUP BY student_id, absence_session_id
HAVING count(*) > 1
"""
ISSUE_TWINS = """
SELECT credit_id, array_agg(id ORDER BY id) AS ids
  FROM credit_entries
 WHERE kind = 'issue'
 GROUP BY credit_id
HAVING count(*) > 1
"""

# A double use, per credit, walking its entries in id order (every writer of a credit's
# entries holds its row lock, so ids follow commit order per credit): more than one live
# use at any point (uses minus releases > 1), a use after an `expire` or `revoke` entry,
# a running balance (sum of amounts) below 0 or above 1 at any point, a release of a use
# that was not made before it or was released already (the credit would be free while
# its lesson stands); or, whatever the entries say, more than one live (not cancelled)
# lesson booked with the credit.
CREDIT_MISUSES = """
WITH walk AS (
    SELECT e.credit_id, e.id, e.kind::text AS kind,
           sum(e.amount) OVER w AS balance,
           sum(CASE e.kind WHEN 'use' THEN 1 WHEN 'release' THEN -1 ELSE 0 END) OVER w AS live,
           coalesce(bool_or(e.kind IN ('expire', 'revoke')) OVER (
               PARTITION BY e.credit_id ORDER BY e.id
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), false) AS ended_before,
           e.kind = 'release' AND (
               NOT EXISTS (SELECT 1 FROM credit_entries u
                            WHERE u.credit_id = e.credit_id AND u.kind = 'use'
                              AND u.use_no = e.use_no AND u.id < e.id)
               OR EXISTS (SELECT 1 FROM credit_entries r
                           WHERE r.credit_id = e.credit_id AND r.kind = 'release'
                             AND r.use_no = e.use_no AND r.id < e.id)) AS stray_release
      FROM credit_entries e
    WINDOW w AS (PARTITION BY e.credit_id ORDER BY e.id)
), per_credit AS (
    SELECT credit_id, max(live) AS most_live, min(balance) AS lowest,
           max(balance) AS highest, (array_agg(balance ORDER BY id DESC))[1] AS balance,
           coalesce(array_agg(id ORDER BY id) FILTER (WHERE kind = 'use' AND ended_before),
                    '{}') AS used_after_end,
           coalesce(array_agg(id ORDER BY id) FILTER (WHERE stray_release), '{}')
               AS stray_releases
      FROM walk
     GROUP BY credit_id
), live_lessons AS (
    SELECT e.credit_id, array_agg(DISTINCT e.session_id ORDER BY e.session_id) AS ids
      FROM credit_entries e JOIN class_sessions c ON c.id = e.session_id
     WHERE e.kind = 'use' AND c.status <> 'CANCELLED'
     GROUP BY e.credit_id
    HAVING count(DISTINCT e.session_id) > 1
)
SELECT coalesce(p.credit_id, l.credit_id) AS credit_id, p.most_live, p.lowest, p.highest,
       p.balance, coalesce(p.used_after_end, '{}') AS used_after_end,
       coalesce(p.stray_releases, '{}') AS stray_releases, coalesce(l.ids, '{}') AS live_lessons
  FROM per_credit p FULL JOIN live_lessons l ON l.credit_id = p.credit_id
 WHERE p.most_live > 1 OR p.lowest < 0 OR p.highest > 1
    OR cardinality(p.used_after_end) > 0 OR cardinality(p.stray_releases) > 0
    OR l.ids IS NOT NULL
 ORDER BY 1
"""

# What the ledger holds, by kind (figures of the run, not a check).
CREDIT_FIGURES = """
SELECT 'credits' AS kind, count(*) AS n FROM credits
UNION ALL
SELECT 'flagged', count(*) FROM credits WHERE flagged_at IS NOT NULL
UNION ALL
SELECT kind::text, count(*) FROM credit_entries GROUP BY kind
UNION ALL
SELECT 'marks', count(*) FROM attendance_marks
"""

# The acknowledged writes' objects, read for the lost-write check.
SERIES_ROWS = """
SELECT id, branch_id, teacher_id, kind::text AS kind, student_id, title, room_id, weekdays,
       start_time, end_time, first_date, last_date, interval_weeks, status::text AS status
  FROM class_series WHERE id = ANY(%(ids)s)
"""
SESSION_ROWS = """
SELECT id, branch_id, series_id, kind::text AS kind, teacher_id, student_id, title, room_id,
       date, start_time, end_time, status::text AS status, cancel_reason,
       coalesce((SELECT array_agg(a.student_id ORDER BY a.student_id) FROM session_attendees a
                  WHERE a.session_id = class_sessions.id), '{}') AS attendees
  FROM class_sessions WHERE id = ANY(%(ids)s)
"""
ENROLMENTS = """
SELECT series_id, student_id, from_date, until_date
  FROM series_enrolments WHERE series_id = ANY(%(ids)s)
"""
CLOSURES = "SELECT branch_id, date FROM branch_closures"
MARKS = """
SELECT session_id, student_id, state::text AS state
  FROM attendance_marks WHERE session_id = ANY(%(ids)s)
"""
CREDITS = "SELECT id, student_id, absence_session_id, flagged_at FROM credits"
CREDIT_ENTRIES = """
SELECT id, credit_id, kind::text AS kind, use_no, session_id
  FROM credit_entries ORDER BY id
"""

# The audit events of the actions a client's write records, with their subject, the
# transaction's start (`at`, seconds since the epoch) and the ids a few of them name.
EVENTS = """
SELECT id, extract(epoch FROM at)::float8 AS at, action, subject_type, subject_id,
       occurrence_date, details->>'student_id' AS student_id,
       details->>'new_series_id' AS new_series_id
  FROM audit_events WHERE action = ANY(%(actions)s)
"""

# Every series and session row accounted for by the audit log. A series: its creation
# ('series.create' naming it, or the 'series.change_from' that made it, or an import). A
# one-off session: 'session.create' naming it (or an import). A session made from a series:
# its series accounted for, and a generation run that covered it (all series, its branch
# or itself) had started when the row was inserted and had not finished before.
UNACCOUNTED_SERIES = """
SELECT cs.id FROM class_series cs
 WHERE cs.id NOT IN (SELECT a.subject_id FROM audit_events a
                      WHERE a.action IN ('series.create', 'series.import')
                        AND a.subject_type = 'series' AND a.subject_id IS NOT NULL)
   AND cs.id NOT IN (SELECT (a.details->>'new_series_id')::bigint FROM audit_events a
                      WHERE a.action = 'series.change_from'
                        AND a.details->>'new_series_id' IS NOT NULL)
 ORDER BY cs.id
"""
UNACCOUNTED_SESSIONS = """
WITH runs AS MATERIALIZED (
    SELECT series_id, branch_id, started_at, coalesce(finished_at, 'infinity') AS finished_at
      FROM generation_runs
), made AS MATERIALIZED (
    SELECT id, series_id, branch_id, created_at FROM class_sessions WHERE series_id IS NOT NULL
), covered AS (
    SELECT m.id FROM made m JOIN runs r ON r.series_id = m.series_id
     WHERE r.started_at <= m.created_at AND r.finished_at >= m.created_at
    UNION
    SELECT m.id FROM made m JOIN runs r
        ON r.series_id IS NULL AND (r.branch_id IS NULL OR r.branch_id = m.branch_id)
     WHERE r.started_at <= m.created_at AND r.finished_at >= m.created_at
), told AS (
    SELECT a.subject_id AS id FROM audit_events a
     WHERE a.action IN ('session.create', 'session.import') AND a.subject_type = 'session'
       AND a.subject_id IS NOT NULL
)
SELECT c.id, c.series_id FROM class_sessions c
 WHERE c.id NOT IN (SELECT id FROM told)
   AND (c.series_id IS NULL OR c.series_id = ANY(%(unaccounted_series)s)
        OR c.id NOT IN (SELECT id FROM covered))
 ORDER BY c.id
"""

# Every cancelled session names the event that cancelled it: its own cancel (or dedupe's),
# or a bulk event listing it (a closure day; a series paused, ended or changed).
UNACCOUNTED_CANCELS = """
WITH told AS (
    SELECT a.subject_id AS id FROM audit_events a
     WHERE a.action IN ('session.cancel', 'session.cancel_duplicate', 'session.import')
       AND a.subject_type = 'session' AND a.subject_id IS NOT NULL
    UNION
    SELECT jsonb_array_elements_text(a.details->'session_ids')::bigint FROM audit_events a
     WHERE jsonb_typeof(a.details->'session_ids') = 'array'
    UNION
    SELECT jsonb_array_elements_text(a.details->'cancelled_session_ids')::bigint
      FROM audit_events a WHERE jsonb_typeof(a.details->'cancelled_session_ids') = 'array'
)
SELECT c.id FROM class_sessions c
 WHERE c.status = 'CANCELLED' AND c.id NOT IN (SELECT id FROM told)
 ORDER BY c.id
"""

# Every session of a series that is not where its series put it (another date, time or
# room) was moved, and the move is in the audit log.
UNACCOUNTED_MOVES = """
SELECT c.id FROM class_sessions c JOIN class_series cs ON cs.id = c.series_id
 WHERE c.original_date IS NOT NULL
   AND (c.date <> c.original_date OR c.start_time <> cs.start_time
        OR c.end_time <> cs.end_time OR c.room_id IS DISTINCT FROM cs.room_id)
   AND c.id NOT IN (SELECT a.subject_id FROM audit_events a
                     WHERE a.action = 'session.move' AND a.subject_type = 'session'
                       AND a.subject_id IS NOT NULL)
 ORDER BY c.id
"""
