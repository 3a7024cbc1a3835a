"""The sessions domain's SQL: what a session holds, conflict pairs, verdicts and locks.

The rule is komawari.scheduling.conflict_rule. Two sessions conflict when they overlap
and share a resource: the teacher (`teacher_id`), the room (`room_id`, optional) or a
student (`students_of`: the private student or the group's attendees). That definition is
used for the conflict pairs, for naming what two sessions share, and for the locks a
writer takes. Values are always bind parameters; fragments are composed
from this module's constants only.
"""

from __future__ import annotations

from komawari.db import rules


def students_of(s: str) -> str:
    """SQL rows (student_id) of the students of the session aliased `s`."""
    return f"""SELECT {s}.student_id AS student_id WHERE {s}.student_id IS NOT NULL
     UNION ALL SELECT sa.student_id FROM session_attendees sa WHERE sa.session_id = {s}.id
    """  # noqa: S608 - composed from module constants; values are bind parameters


# Lock kinds (the first int4 key of the two-key advisory lock, apart from the idempotency
# lock's space; sorted as listed) and how many buckets each resource kind's ids are folded
# into (id modulo count). Buckets bound the resource locks held at once in a database to
# their total (4,864), whatever the concurrency: each is exclusive, so one transaction
# holds it. Ids below a kind's count each get a bucket of their own.
GENERATION, SCHEDULE, TEACHER_LOCK, STUDENT_LOCK, ROOM_LOCK = (0x4B4D5300 + n for n in range(5))
BUCKETS = {TEACHER_LOCK: 512, STUDENT_LOCK: 4096, ROOM_LOCK: 256}


def resources_of(src: str) -> str:
    """SQL rows (kind, id) of the resources held by the sessions whose ids `src` selects."""
    return f"""
    SELECT {TEACHER_LOCK} AS kind, s.teacher_id AS id FROM class_sessions s WHERE s.id IN ({src})
    UNION ALL
    SELECT {ROOM_LOCK}, s.room_id FROM class_sessions s
     WHERE s.id IN ({src}) AND s.room_id IS NOT NULL
    UNION ALL
    SELECT {STUDENT_LOCK}, who.student_id FROM class_sessions s,
           LATERAL ({students_of("s")}) who WHERE s.id IN ({src})
    """  # noqa: S608 - composed from module constants; values are bind parameters


# The resources of series: what their new sessions will hold (attendees come from the
# enrolments), and with :sessions also what their existing sessions hold (a moved one may
# be in another room).
SERIES_RESOURCES = f"""
    SELECT {TEACHER_LOCK} AS kind, cs.teacher_id AS id FROM class_series cs
     WHERE cs.id = ANY(CAST(:series AS bigint[]))
    UNION ALL
    SELECT {STUDENT_LOCK}, cs.student_id FROM class_series cs
     WHERE cs.id = ANY(CAST(:series AS bigint[])) AND cs.student_id IS NOT NULL
    UNION ALL
    SELECT {ROOM_LOCK}, cs.room_id FROM class_series cs
     WHERE cs.id = ANY(CAST(:series AS bigint[])) AND cs.room_id IS NOT NULL
    UNION ALL
    SELECT {STUDENT_LOCK}, e.student_id FROM series_enrolments e
     WHERE e.series_id = ANY(CAST(:series AS bigint[]))
    UNION ALL
    SELECT * FROM ({
    resources_of(
        "SELECT o.id FROM class_sessions o"
        " WHERE o.series_id = ANY(CAST(:series AS bigint[])) AND CAST(:sessions AS boolean)"
    )
}) o
"""  # noqa: S608 - composed from module constants; values are bind parameters

GIVEN_RESOURCES = f"""
    SELECT {TEACHER_LOCK} AS kind, unnest(CAST(:teachers AS bigint[])) AS id
    UNION ALL SELECT {STUDENT_LOCK}, unnest(CAST(:students AS bigint[]))
    UNION ALL SELECT {ROOM_LOCK}, unnest(CAST(:rooms AS bigint[]))
    UNION ALL SELECT * FROM ({resources_of("SELECT unnest(CAST(:sessions_ids AS bigint[]))")}) s
    UNION ALL SELECT * FROM ({SERIES_RESOURCES}) r
"""  # noqa: S608 - composed from module constants; values are bind parameters

_BUCKET = " ".join(f"WHEN {kind} THEN r.id % {n}" for kind, n in BUCKETS.items())

# One statement, so the locks are taken in one global order: the schedule lock (shared:
# only a whole-schedule writer takes it exclusively) first, then the buckets by (kind,
# bucket). The sorted subquery is not flattened, so the locks follow its order. Returns
# the keys, so the caller can see whether a later read needs more of them.
LOCK_RESOURCES = f"""
SELECT k.kind, k.bucket,
       CASE WHEN k.kind = {SCHEDULE} THEN pg_advisory_xact_lock_shared(k.kind, k.bucket)
            ELSE pg_advisory_xact_lock(k.kind, k.bucket) END
  FROM (SELECT DISTINCT kind, bucket FROM (
            SELECT {SCHEDULE} AS kind, 0 AS bucket
            UNION ALL
            SELECT r.kind, CAST(CASE r.kind {_BUCKET} END AS int) FROM ({GIVEN_RESOURCES}) r
             WHERE r.id IS NOT NULL
        ) keys ORDER BY kind, bucket) k
"""  # noqa: S608 - composed from module constants; values are bind parameters

LOCK_WHOLE_SCHEDULE = f"SELECT pg_advisory_xact_lock({SCHEDULE}, 0)"
# First in the global order: a generation run takes it before any other lock.
LOCK_GENERATION = f"SELECT pg_advisory_xact_lock({GENERATION}, 0)"

# Set-based statements are planned from estimates that a fresh batch makes stale; JIT
# compiling them costs seconds where running them costs milliseconds.
JIT_OFF = "SELECT set_config('jit', 'off', true)"

# Every session overlapping `a` starts less than the lesson span before `a` does: an
# index range on (resource, starts_at).
WINDOW = rules.near("a", "b")
_NEAR = f"{WINDOW} AND b.id <> a.id AND {rules.live('b')} AND {rules.overlap('a', 'b')}"
_C_WINDOW = rules.near("a", "c")


def pairs(src: str) -> str:
    """SQL of (a_id, b_id): each session a of `src` and every live session b in conflict."""
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
      JOIN LATERAL ({students_of("a")}) who ON true
      -- The other side's rows come straight from the lateral lookups (by student and
      -- date), so the planner never has to join them back to class_sessions.
      JOIN LATERAL (
            SELECT c.id, c.date, c.status, c.starts_at, c.ends_at FROM class_sessions c
             WHERE c.student_id = who.student_id AND {_C_WINDOW}
            UNION ALL
            SELECT c.id, c.date, c.status, c.starts_at, c.ends_at
              FROM session_attendees sb JOIN class_sessions c ON c.id = sb.session_id
             WHERE sb.student_id = who.student_id AND {_C_WINDOW}
      ) b ON true
     WHERE {_NEAR}
    """  # noqa: S608 - composed from module constants; values are bind parameters


_IDS = "(SELECT DISTINCT unnest(CAST(:ids AS bigint[])) AS id)"

NEIGHBOURS = f"SELECT DISTINCT b_id FROM ({pairs(_IDS)}) p"  # noqa: S608 - composed from module constants; values are bind parameters

# The sessions `ids` and their live neighbours, row-locked in id order (one statement, so
# two re-evaluations lock shared neighbours in the same order).
LOCK_AFFECTED = f"""
SELECT s.id FROM class_sessions s
 WHERE s.id IN (SELECT unnest(CAST(:ids AS bigint[])) UNION SELECT b_id FROM ({pairs(_IDS)}) p)
 ORDER BY s.id
   FOR UPDATE OF s
"""  # noqa: S608 - composed from module constants; values are bind parameters

# The verdicts of exactly the sessions `ids` (touched and neighbours, already locked),
# from the rows committed when this statement starts; writes only what changed.
VERDICTS = f"""
WITH p AS ({pairs(_IDS)}),
verdict AS (
    SELECT a.id,
           coalesce(array_agg(b.id ORDER BY b.created_at, b.id)
                    FILTER (WHERE b.id IS NOT NULL), '{{}}') AS blockers
      FROM {_IDS} f
      JOIN class_sessions a ON a.id = f.id AND a.status <> 'CANCELLED'
      LEFT JOIN p ON p.a_id = a.id
      LEFT JOIN class_sessions b ON b.id = p.b_id AND (b.created_at, b.id) < (a.created_at, a.id)
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
"""  # noqa: S608 - composed from module constants; values are bind parameters

LIVE_IDS = """
SELECT id FROM class_sessions
 WHERE status <> 'CANCELLED' AND (CAST(:branch_id AS bigint) IS NULL OR branch_id = :branch_id)
"""

# Which resources each (session, blocker) pair shares, from the same definition of what a
# session holds as the pairs above.
SHARED = f"""
SELECT a.id AS a_id, b.id AS b_id,
       a.teacher_id = b.teacher_id AS teacher,
       EXISTS (({students_of("a")}) INTERSECT ({students_of("b")})) AS student,
       coalesce(a.room_id = b.room_id, false) AS room
  FROM unnest(CAST(:a_ids AS bigint[]), CAST(:b_ids AS bigint[])) AS x(a_id, b_id)
  JOIN class_sessions a ON a.id = x.a_id
  JOIN class_sessions b ON b.id = x.b_id
"""  # noqa: S608 - composed from module constants; values are bind parameters
