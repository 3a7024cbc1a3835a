"""The attendance domain's raw SQL: each statement once, values as bind parameters."""

from __future__ import annotations

from komawari.db import rules

# "usual" times: the last 8 weeks; the teachers of a branch: those with lessons there
# from 8 weeks before to 8 weeks after the days searched.
RECENT_DAYS = 56

# The make-up slots of `attendance.slots.find` (its docstring says the rules).
_BUSY_STUDENT = f"""
    EXISTS (SELECT 1 FROM class_sessions s
             WHERE s.student_id = :student AND {rules.live("s")}
               AND {rules.near("c", "s")} AND {rules.overlap("c", "s")})
    OR EXISTS (SELECT 1 FROM session_attendees sa
                 JOIN class_sessions s ON s.id = sa.session_id
                WHERE sa.student_id = :student AND {rules.live("s")}
                  AND {rules.near("c", "s")} AND {rules.overlap("c", "s")})
"""  # noqa: S608 - composed from module constants; values are bind parameters

# The student's usual weekdays and start times: their lessons of the last 8 weeks and the
# next 4, the missed one apart.
_USUAL = f"""
    SELECT DISTINCT CAST(extract(isodow FROM s.date) AS int) AS dow, s.start_time
      FROM class_sessions s
     WHERE {rules.live("s")} AND s.id <> :absence
       AND s.date >= CAST(:first AS date) - {RECENT_DAYS}
       AND s.date <= CAST(:first AS date) + 28
       AND s.id IN (SELECT m.id FROM class_sessions m WHERE m.student_id = :student
                    UNION ALL
                    SELECT sa.session_id FROM session_attendees sa
                     WHERE sa.student_id = :student)
"""  # noqa: S608 - composed from module constants; values are bind parameters

SLOTS = f"""
WITH a AS (
    SELECT s.id, s.branch_id, s.teacher_id, s.room_id, s.start_time, s.end_time
      FROM class_sessions s WHERE s.id = :absence
), b AS (
    SELECT br.id, br.time_zone FROM branches br WHERE br.id = :branch
), days AS (
    -- An integer series: the planner knows how many days it makes.
    SELECT CAST(:first AS date) + i AS day
      FROM generate_series(0, CAST(:last AS date) - CAST(:first AS date)) i
     WHERE NOT EXISTS (SELECT 1 FROM branch_closures x
                        WHERE x.branch_id = :branch AND x.date = CAST(:first AS date) + i)
), times AS (
    SELECT p.start_time FROM branch_periods p WHERE p.branch_id = :branch
    UNION
    SELECT DISTINCT s.start_time FROM class_sessions s
     WHERE s.branch_id = :branch AND {rules.live("s")}
       AND s.date >= CAST(:first AS date) - {RECENT_DAYS} AND s.date < CAST(:first AS date)
       AND NOT EXISTS (SELECT 1 FROM branch_periods p WHERE p.branch_id = :branch)
    UNION
    SELECT a.start_time FROM a
     WHERE NOT EXISTS (SELECT 1 FROM branch_periods p WHERE p.branch_id = :branch)
), c AS (
    SELECT d.day, t.start_time, t.start_time + (a.end_time - a.start_time) AS end_time,
           komawari_local_instant(d.day, t.start_time, b.time_zone) AS starts_at,
           komawari_local_instant(d.day, t.start_time + (a.end_time - a.start_time),
                                  b.time_zone) AS ends_at
      FROM days d, times t, a, b
     WHERE t.start_time + (a.end_time - a.start_time) > t.start_time
), open AS (
    SELECT c.* FROM c
     WHERE c.starts_at > CAST(:now AS timestamptz) AND NOT ({_BUSY_STUDENT})
), teachers AS MATERIALIZED (
    SELECT t.id, t.name, (t.id = a.teacher_id) AS own,
           (SELECT count(*) FROM class_sessions s
             WHERE s.teacher_id = t.id AND s.student_id = :student AND {rules.live("s")})
             AS taught
      FROM teachers t, a
     WHERE t.active
       AND (t.id = a.teacher_id
            OR EXISTS (SELECT 1 FROM class_sessions s
                        WHERE s.teacher_id = t.id AND s.branch_id = :branch
                          AND {rules.live("s")}
                          AND s.date >= CAST(:first AS date) - {RECENT_DAYS}
                          AND s.date <= CAST(:last AS date) + {RECENT_DAYS}))
), usual AS ({_USUAL}), best AS (
    SELECT DISTINCT ON (o.day, o.start_time)
           o.day, o.start_time, o.end_time, o.starts_at, t.id AS teacher_id,
           t.name AS teacher_name, t.own
      FROM open o JOIN teachers t ON NOT EXISTS (
               SELECT 1 FROM class_sessions s
                WHERE s.teacher_id = t.id AND {rules.live("s")}
                  AND {rules.near("o", "s")} AND {rules.overlap("o", "s")}
               OFFSET 0)  -- kept apart: an index lookup per slot and teacher
     ORDER BY o.day, o.start_time, t.own DESC, t.taught DESC, t.name, t.id
)
SELECT best.day, best.start_time, best.end_time, best.teacher_id, best.teacher_name,
       best.own,
       EXISTS (SELECT 1 FROM usual u
                WHERE u.dow = extract(isodow FROM best.day) AND u.start_time = best.start_time)
         AS usual_time,
       EXISTS (SELECT 1 FROM usual u WHERE u.dow = extract(isodow FROM best.day)) AS usual_day,
       room.id AS room_id, room.name AS room_name
  FROM best
  LEFT JOIN LATERAL (
      SELECT r.id, r.name FROM rooms r, open o
       WHERE r.branch_id = :branch AND r.active
         AND o.day = best.day AND o.start_time = best.start_time
         AND NOT EXISTS (SELECT 1 FROM class_sessions s
                          WHERE s.room_id = r.id AND {rules.live("s")}
                            AND {rules.near("o", "s")} AND {rules.overlap("o", "s")})
       ORDER BY (r.id = (SELECT a.room_id FROM a)) DESC, r.name, r.id
       LIMIT 1
  ) room ON true
 WHERE room.id IS NOT NULL OR NOT EXISTS (SELECT 1 FROM a WHERE a.room_id IS NOT NULL)
 ORDER BY best.own DESC, usual_time DESC, usual_day DESC, best.starts_at, best.teacher_name
 LIMIT :limit
"""  # noqa: S608 - composed from module constants; values are bind parameters

# A group lesson's make-up: the live group lessons of the credit's branch in the window,
# starting after now, that the student is not in, with a seat left (their series'
# capacity plus the policy's make-up seats; a one-off group lesson has no capacity), of
# the missed lesson's length when the policy asks for it, at a time the student is free.
# Ranked: the missed lesson's own group first, then its teacher, then the student's
# usual times and days, then the earliest.
GROUP_SLOTS = f"""
WITH a AS (
    SELECT s.id, s.teacher_id, s.series_id, s.ends_at - s.starts_at AS length
      FROM class_sessions s WHERE s.id = :absence
), usual AS ({_USUAL}), c AS (
    SELECT s.id, s.date AS day, s.start_time, s.end_time, s.starts_at, s.ends_at,
           s.teacher_id, s.room_id, s.series_id, f.capacity,
           (SELECT count(*) FROM session_attendees x WHERE x.session_id = s.id) AS taken
      FROM class_sessions s
      LEFT JOIN class_series f ON f.id = s.series_id
     WHERE s.branch_id = :branch AND s.kind = 'GROUP' AND {rules.live("s")}
       AND s.date BETWEEN CAST(:first AS date) AND CAST(:last AS date)
       AND s.starts_at > CAST(:now AS timestamptz) AND s.id <> :absence
       AND (NOT CAST(:same_length AS boolean)
            OR s.ends_at - s.starts_at = (SELECT a.length FROM a))
       AND NOT EXISTS (SELECT 1 FROM session_attendees x
                        WHERE x.session_id = s.id AND x.student_id = :student)
)
SELECT c.id AS session_id, c.day, c.start_time, c.end_time, c.teacher_id,
       t.name AS teacher_name, c.room_id, r.name AS room_name,
       c.teacher_id = a.teacher_id AS own,
       c.series_id IS NOT DISTINCT FROM a.series_id AND a.series_id IS NOT NULL AS same_group,
       c.capacity + CAST(:seats AS int) - c.taken AS seats_left,
       EXISTS (SELECT 1 FROM usual u
                WHERE u.dow = extract(isodow FROM c.day) AND u.start_time = c.start_time)
         AS usual_time,
       EXISTS (SELECT 1 FROM usual u WHERE u.dow = extract(isodow FROM c.day)) AS usual_day
  FROM c CROSS JOIN a
  JOIN teachers t ON t.id = c.teacher_id
  LEFT JOIN rooms r ON r.id = c.room_id
 WHERE (c.capacity IS NULL OR c.taken < c.capacity + CAST(:seats AS int))
   AND NOT ({_BUSY_STUDENT})
 ORDER BY same_group DESC, own DESC, usual_time DESC, usual_day DESC, c.starts_at,
          teacher_name, c.id
 LIMIT :limit
"""  # noqa: S608 - composed from module constants; values are bind parameters

# The seats of a group lesson, counted under its lock: its attendees, and its series'
# capacity (NULL: a one-off group lesson, no limit).
SEATS = """
SELECT (SELECT count(*) FROM session_attendees x WHERE x.session_id = s.id) AS taken,
       f.capacity
  FROM class_sessions s LEFT JOIN class_series f ON f.id = s.series_id
 WHERE s.id = :session
"""

# Whether the student has a live lesson (their own, or a group they attend) overlapping
# the lesson `:session`.
STUDENT_BUSY = f"""
SELECT EXISTS (SELECT 1 FROM class_sessions c
                WHERE c.id = :session AND ({_BUSY_STUDENT}))
"""  # noqa: S608 - composed from module constants; values are bind parameters
