"""The notices' SQL: the intents the application writes, the drain's reads, the sender's claim.

(The intents of lesson changes, credits and absences are written by triggers: migration
0018 holds them.)
"""

from __future__ import annotations

# The contacts of the given students (their guardians, or themselves), active ones only.
_STUDENT_CONTACTS = """
  JOIN contact_students cs ON cs.student_id = x.student_id
  JOIN contacts ct ON ct.id = cs.contact_id AND ct.active
"""

# A new series tells its people once, in the generation that first materialises its
# lessons (CTEs of generation's insert: `ins` holds the rows it made, `:ids` the batch's
# series, and `class_series` is read as it was before the run's watermark). Imported
# series (`legacy_id`) were running before Komawari: nobody is told of them. The students
# are a UNION of two hash joins, not a LATERAL per series: over the materialised `told`
# (estimated at one row), the planner drew the contacts' join into a lateral subquery's
# loop, 0.9 s a batch instead of 0.05 s (docs/benchmarks.md).
NEW_SERIES_CTE = """
told AS MATERIALIZED (
    SELECT f.id, f.branch_id, f.student_id, f.teacher_id
      FROM class_series f
     WHERE f.id = ANY(CAST(:ids AS bigint[])) AND f.generated_through IS NULL
       AND f.legacy_id IS NULL AND f.id IN (SELECT series_id FROM ins)
),
series_news AS (
    INSERT INTO notice_intents (contact_id, kind, series_id, version, branch_id, student_id)
    SELECT p.contact_id, 'new_series', p.id, 0, p.branch_id, p.student_id
      FROM (
        SELECT x.id, x.branch_id, x.student_id, cs.contact_id
          FROM (SELECT f.id, f.branch_id, f.student_id FROM told f
                 WHERE f.student_id IS NOT NULL
                UNION
                SELECT f.id, f.branch_id, e.student_id
                  FROM told f JOIN series_enrolments e ON e.series_id = f.id
               ) x
          JOIN contact_students cs ON cs.student_id = x.student_id
          JOIN contacts ct ON ct.id = cs.contact_id AND ct.active
        UNION ALL
        SELECT f.id, f.branch_id, NULL, t.id
          FROM told f JOIN contacts t ON t.teacher_id = f.teacher_id AND t.active
      ) p
    ON CONFLICT ON CONSTRAINT uq_notice_intents_key DO NOTHING
    RETURNING 1
),"""

# The day-before reminder: at each branch whose reminder time has passed today (its zone),
# one intent per contact and live lesson of tomorrow booked before that time. Version 0:
# a lesson is reminded of once, however often this runs.
REMINDERS = f"""
WITH due AS (
    SELECT b.id, (now() AT TIME ZONE b.time_zone)::date + 1 AS day,
           ((now() AT TIME ZONE b.time_zone)::date + b.reminder_time) AT TIME ZONE b.time_zone
               AS at
      FROM branches b
     WHERE (now() AT TIME ZONE b.time_zone)::time >= b.reminder_time
), lessons AS (
    SELECT s.id, s.branch_id, s.student_id, s.teacher_id,
           jsonb_build_object('date', s.date, 'start', s.start_time, 'end', s.end_time)
               AS before
      FROM class_sessions s
      JOIN due d ON d.id = s.branch_id AND s.date = d.day
     WHERE s.status <> 'CANCELLED' AND s.created_at <= d.at
), people AS (
    SELECT l.id, l.branch_id, l.before, x.student_id, cs.contact_id
      FROM lessons l
      JOIN LATERAL (SELECT l.student_id WHERE l.student_id IS NOT NULL
                    UNION
                    SELECT a.student_id FROM session_attendees a WHERE a.session_id = l.id
                   ) AS x(student_id) ON true
      {_STUDENT_CONTACTS}
    UNION ALL
    SELECT l.id, l.branch_id, l.before, NULL, t.id
      FROM lessons l JOIN contacts t ON t.teacher_id = l.teacher_id AND t.active
)
INSERT INTO notice_intents (contact_id, kind, session_id, version, branch_id, student_id,
                            before)
SELECT contact_id, 'reminder', id, 0, branch_id, student_id, before FROM people
ON CONFLICT ON CONSTRAINT uq_notice_intents_key DO NOTHING
"""  # noqa: S608 - composed from module constants

# Unused credits whose last day is within `:days` days at their branch: once per credit.
CREDITS_EXPIRING = f"""
WITH soon AS (
    SELECT c.id, c.branch_id, c.student_id AS student_id
      FROM credits c
      JOIN branches b ON b.id = c.branch_id
     WHERE c.expires_on - (now() AT TIME ZONE b.time_zone)::date BETWEEN 0 AND :days
       AND NOT EXISTS (SELECT 1 FROM credit_entries e
                        WHERE e.credit_id = c.id AND e.kind IN ('expire', 'revoke'))
       AND (SELECT sum(e.amount) FROM credit_entries e WHERE e.credit_id = c.id) > 0
)
INSERT INTO notice_intents (contact_id, kind, credit_id, version, branch_id, student_id)
SELECT cs.contact_id, 'credit_expiring', x.id, 0, x.branch_id, x.student_id
  FROM soon x
  {_STUDENT_CONTACTS}
ON CONFLICT ON CONSTRAINT uq_notice_intents_key DO NOTHING
"""  # noqa: S608 - composed from module constants

# The contacts whose oldest waiting intent is older than the window, oldest first (but
# those a drain left in their quiet hours: `:skip`, so they do not hold the others back).
DUE_CONTACTS = """
SELECT contact_id
  FROM notice_intents
 WHERE settled_at IS NULL AND contact_id <> ALL(CAST(:skip AS bigint[]))
 GROUP BY contact_id
HAVING min(created_at) <= :cutoff
 ORDER BY min(created_at)
 LIMIT :limit
"""

# One drainer per contact: another skips the contacts this one holds.
LOCK_CONTACTS = """
SELECT id FROM contacts WHERE id = ANY(:ids) ORDER BY id FOR UPDATE SKIP LOCKED
"""

# The next due messages, leased to one sender (SKIP LOCKED: two senders never take one
# message). A sender that dies keeps its lease until it ends; then another takes the
# message up and sends it with the same key. LINE waits while its 429 pause lasts.
CLAIM = """
UPDATE notice_messages m
   SET claimed_by = :me, claimed_until = now() + make_interval(secs => :lease)
 WHERE m.id IN (
       SELECT d.id FROM notice_messages d
        WHERE d.status = 'pending' AND d.next_attempt_at <= now()
          AND (d.claimed_until IS NULL OR d.claimed_until < now())
          AND NOT EXISTS (SELECT 1 FROM notice_channel_state c
                           WHERE c.channel = d.channel AND c.paused_until > now())
        ORDER BY d.next_attempt_at, d.id
        LIMIT :limit
          FOR UPDATE SKIP LOCKED)
RETURNING m.id, m.channel, m.address, m.subject, m.body_text, m.body_html, m.key, m.attempts
"""

# One attempt's answer, in one statement: the message's new state and the delivery row.
# Only the lease's holder records (a sender whose lease ran out records nothing).
RECORD = """
WITH msg AS (
    UPDATE notice_messages
       SET attempts = attempts + 1,
           status = CAST(CASE WHEN :result IN ('sent', 'already') THEN 'sent'
                              WHEN :result = 'dead' OR attempts + 1 >= :max_attempts
                                   THEN 'dead'
                              ELSE 'pending' END AS notice_message_status),
           sent_at = CASE WHEN :result IN ('sent', 'already') THEN now() END,
           last_error = CASE WHEN :result IN ('sent', 'already') THEN NULL
                             ELSE coalesce(:answer, 'refused') END,
           next_attempt_at = now() + make_interval(secs => :wait),
           claimed_by = NULL, claimed_until = NULL
     WHERE id = :id AND claimed_by = :me
 RETURNING id, attempts, status
)
INSERT INTO notice_deliveries (message_id, attempt, outcome, status_code, answer)
SELECT id, attempts, :result, :status_code, :answer FROM msg
RETURNING (SELECT status FROM msg)
"""

RELEASE = """
UPDATE notice_messages SET claimed_by = NULL, claimed_until = NULL
 WHERE id = ANY(:ids) AND claimed_by = :me
"""

COUNT_SENT = """
INSERT INTO notice_channel_state (channel, month, sent_this_month)
VALUES (:channel, to_char(now(), 'YYYY-MM'), 1)
ON CONFLICT (channel) DO UPDATE
   SET sent_this_month = CASE WHEN notice_channel_state.month = excluded.month
                              THEN notice_channel_state.sent_this_month + 1 ELSE 1 END,
       month = excluded.month
"""

PAUSE = """
INSERT INTO notice_channel_state (channel, paused_until)
VALUES (:channel, now() + make_interval(secs => :seconds))
ON CONFLICT (channel) DO UPDATE
   SET paused_until = greatest(notice_channel_state.paused_until, excluded.paused_until)
"""

# The waiting intents of the contacts a drainer holds, with each lesson as it is now.
PENDING = """
SELECT i.id, i.contact_id, i.kind, i.session_id, i.series_id, i.credit_id, i.branch_id,
       i.before, i.created_at, b.time_zone,
       st.name AS student_name,
       s.date, s.start_time, s.end_time, s.status = 'CANCELLED' AS cancelled,
       s.teacher_id, s.room_id,
       coalesce(ls.name, s.title, se.title) AS lesson_name,
       c.expires_on, c.absence_date
  FROM notice_intents i
  JOIN branches b ON b.id = i.branch_id
  LEFT JOIN students st ON st.id = i.student_id
  LEFT JOIN class_sessions s ON s.id = i.session_id
  LEFT JOIN students ls ON ls.id = s.student_id
  LEFT JOIN class_series se ON se.id = coalesce(i.series_id, s.series_id)
  LEFT JOIN credits c ON c.id = i.credit_id
 WHERE i.contact_id = ANY(:ids) AND i.settled_at IS NULL
 ORDER BY i.contact_id, i.created_at, i.id
"""

# A new series's first lessons to name (from today at its branch).
FIRST_LESSONS = """
SELECT s.series_id, s.date, s.start_time, s.end_time, s.teacher_id, s.room_id,
       coalesce(ls.name, s.title, se.title) AS lesson_name
  FROM class_series se
  JOIN branches b ON b.id = se.branch_id
  JOIN LATERAL (
      SELECT * FROM class_sessions x
       WHERE x.series_id = se.id AND x.status <> 'CANCELLED'
         AND x.date >= (now() AT TIME ZONE b.time_zone)::date
       ORDER BY x.date, x.start_time LIMIT 3) s ON true
  LEFT JOIN students ls ON ls.id = s.student_id
 WHERE se.id = ANY(:ids)
 ORDER BY s.series_id, s.date, s.start_time
"""

# A drain's settling of its intents: each told by its message, or dropped with a reason.
SETTLE_TOLD = """
UPDATE notice_intents i SET settled_at = :now, message_id = v.message_id
  FROM unnest(CAST(:ids AS bigint[]), CAST(:messages AS bigint[])) AS v(id, message_id)
 WHERE i.id = v.id
"""
SETTLE_DROPPED = """
UPDATE notice_intents i SET settled_at = :now, dropped = v.reason
  FROM unnest(CAST(:ids AS bigint[]), CAST(:reasons AS text[])) AS v(id, reason)
 WHERE i.id = v.id
"""
