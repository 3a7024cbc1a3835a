"""The conflict verdicts of the rows a generation batch makes, decided before the insert.

Every committed session was booked before the rows the statement makes: writers hold the
locks of the teachers, students and rooms they touch (sessions/locks.py), and
class_sessions.created_at defaults to statement_timestamp(), taken under them. So new
rows never change an existing row's verdict, and their own verdicts (blockers
among existing rows, then among earlier rows of the batch) are decided in these CTEs, with
no UPDATE afterwards. The rule is komawari.scheduling.conflict_rule. They read `elig` (the
batch's new rows: new_id, day, time_zone, starts_at, ends_at, bucket, teacher, student,
room) and end with `verdict` (new_id, blockers in booking order).
"""

from __future__ import annotations

from komawari.db import rules
from komawari.scheduling import keys

# Up to this many new (row, student) pairs, group attendances are read student by student.
SMALL_BATCH = 500


def bucket(instant: str) -> str:
    """SQL of the slice of time, LESSON_SPAN long, that an instant falls in.

    Two lessons that overlap start less than LESSON_SPAN apart (a lesson lasts under a day
    plus a DST shift), so their buckets differ by at most one, whatever their zones and
    local dates. `date_part` gives the epoch as a double: exact for any instant to the
    microsecond, and several times cheaper per row than `extract`'s numeric.
    """
    return f"floor(date_part('epoch', {instant}) / {keys.LESSON_SPAN_SECONDS})::bigint"


_STUDENT_LOOKUP = f"""
      JOIN LATERAL (
            SELECT c.id, c.created_at, c.status, c.starts_at, c.ends_at
              FROM class_sessions c
             WHERE c.student_id = es.student_id
               AND {rules.near("es", "c")}
            OFFSET 0
      ) b ON true
"""  # noqa: S608 - composed from module constants; values are bind parameters

_OVERLAP = rules.overlap("b", "{e}")
_LIVE_OVERLAP = rules.live("b") + " AND " + _OVERLAP
_NEAR_NEW = "{e2}.new_id < {e}.new_id AND " + rules.overlap("{e2}", "{e}")


def _new_pairs(src: str, key: str) -> str:
    """SQL of (new_id, blocker, booked): rows of `src` paired with earlier new rows sharing `key`.

    In one zone, overlapping lessons share their local date (a lesson ends on the date it
    starts), so an equi-join on the date finds them. Across zones only the rows of a `key`
    met in several zones are paired, by neighbouring LESSON_SPAN buckets of instants.
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
"""  # noqa: S608 - composed from module constants; values are bind parameters


VERDICT_CTES = f"""
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
-- Where the batch's lessons lie: local dates (two days either side, see below) and instants.
span AS MATERIALIZED (
    SELECT min(day) - 2 AS first_day, max(day) + 2 AS last_day,
           min(starts_at) - {keys.LESSON_SPAN_SQL} AS starts_after, max(ends_at) AS ends_before
      FROM elig
),
-- The live group lessons of the batch's students around the batch's dates (local dates of
-- overlapping lessons differ by at most two days across zones). A big batch reads the
-- lessons of those dates once; a small one (a series created or extended) reads its few
-- students' attendances instead of every lesson of the window. Only one branch runs.
attended AS MATERIALIZED (
    SELECT sb.student_id, c.id, c.created_at, c.starts_at, c.ends_at,
           {bucket("c.starts_at")} AS bucket
      FROM session_attendees sb JOIN class_sessions c ON c.id = sb.session_id
     WHERE (SELECT count(*) > {SMALL_BATCH} FROM elig_students)
       AND c.status <> 'CANCELLED'
       AND c.date BETWEEN (SELECT first_day FROM span) AND (SELECT last_day FROM span)
       AND sb.student_id IN (SELECT student_id FROM elig_students)
    UNION ALL
    SELECT st.student_id, c.id, c.created_at, c.starts_at, c.ends_at,
           {bucket("c.starts_at")}
      FROM (SELECT DISTINCT student_id FROM elig_students) st
      JOIN LATERAL (
            SELECT c.* FROM class_sessions c
             WHERE c.id = ANY(ARRAY(SELECT sb.session_id FROM session_attendees sb
                                     WHERE sb.student_id = st.student_id))
               AND c.status <> 'CANCELLED'
               AND c.date BETWEEN (SELECT first_day FROM span)
                              AND (SELECT last_day FROM span)
            OFFSET 0) c ON true
     WHERE (SELECT count(*) <= {SMALL_BATCH} FROM elig_students)
),
-- The batch's teachers are busy most of the day: their live lessons around the batch's
-- instants are read once (one bitmap scan of (teacher_id, starts_at)) and paired by hash
-- joins, instead of a LESSON_SPAN index range read again for every new row.
taught AS MATERIALIZED (
    SELECT b.id, b.created_at, b.teacher_id, b.date, b.time_zone, b.starts_at, b.ends_at,
           {bucket("b.starts_at")} AS bucket
      FROM class_sessions b
     WHERE b.teacher_id = ANY(ARRAY(SELECT DISTINCT teacher_id FROM elig))
       AND b.starts_at > (SELECT starts_after FROM span)
       AND b.starts_at < (SELECT ends_before FROM span)
       AND b.status <> 'CANCELLED'
),
blockers AS (
    -- Other existing sessions are looked up through laterals (index probes per new row;
    -- OFFSET 0 keeps them laterals); new rows are paired with each other by hash joins.
    SELECT e.new_id, b.id AS blocker, b.created_at AS booked
      FROM elig e JOIN taught b
        ON b.teacher_id = e.teacher_id AND b.date = e.day AND b.time_zone = e.time_zone
     WHERE {_OVERLAP.format(e="e")}
    UNION
    SELECT e.new_id, b.id, b.created_at
      FROM elig e CROSS JOIN near
      JOIN taught b ON b.teacher_id = e.teacher_id AND b.bucket = e.bucket + near.d
     WHERE (SELECT count(DISTINCT time_zone) > 1 FROM branches)
       AND b.time_zone <> e.time_zone AND {_OVERLAP.format(e="e")}
    UNION
    SELECT e.new_id, b.id, b.created_at
      FROM elig e JOIN LATERAL (
            SELECT b.id, b.created_at FROM class_sessions b
             WHERE b.room_id = e.room_id AND b.starts_at > e.starts_at - {keys.LESSON_SPAN_SQL}
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
     WHERE {_OVERLAP.format(e="es")}
    UNION {_new_pairs("elig", "teacher_id")}
    UNION {_new_pairs("elig", "room_id")}
    UNION {_new_pairs("elig_students", "student_id")}
),
verdict AS (
    SELECT new_id, array_agg(blocker ORDER BY booked, blocker) AS blockers
      FROM blockers GROUP BY new_id
),
"""  # noqa: S608 - composed from module constants; values are bind parameters
