"""The import's set-based SQL: staging tables, names, series, sessions, and their dedupe.

Rows are staged in temporary tables, given their ids (from the tables' own sequences)
and deduplicated there by the rules of `dedupe` (komawari.db.rules), so that every row
reaches the real tables in its final state with one INSERT ... SELECT, and no guard is
ever switched off. Rows already in the database are never changed by an import: they
rank first, so a legacy row that duplicates one is kept as a cancelled pointer to it.
"""

from __future__ import annotations

from komawari.db import rules
from komawari.ops.sql import audit
from komawari.scheduling import keys

SERIES_STAGE = "komawari_legacy_series"
SESSION_STAGE = "komawari_legacy_sessions"
SERIES_COLUMNS = (
    "line, legacy_id, branch, teacher, student, start_time, end_time, weekdays, status, created_at"
)
SESSION_COLUMNS = (
    "line, legacy_id, series_legacy_id, date, start_time, end_time, teacher, student, branch,"
    " status, created_at"
)
LEGACY_CANCELLED = "cancelled in the legacy system"

CREATE_STAGES = (
    f"DROP TABLE IF EXISTS pg_temp.{SERIES_STAGE}",
    f"DROP TABLE IF EXISTS pg_temp.{SESSION_STAGE}",
    f"""CREATE TEMP TABLE {SERIES_STAGE} (
        line int, legacy_id text, branch text, teacher text, student text, start_time time,
        end_time time, weekdays smallint, status text, created_at timestamptz,
        branch_id bigint, time_zone text, teacher_id bigint, student_id bigint, new_id bigint,
        keep_id bigint, first_date date, last_date date, generated_through date
    ) ON COMMIT DROP""",
    f"""CREATE TEMP TABLE {SESSION_STAGE} (
        line int, legacy_id text, series_legacy_id text, date date, start_time time,
        end_time time, teacher text, student text, branch text, status text,
        created_at timestamptz, branch_id bigint, time_zone text, teacher_id bigint,
        student_id bigint, series_id bigint, new_id bigint, final_status text,
        cancel_reason text, duplicate_of_id bigint, original_date date
    ) ON COMMIT DROP""",
)

SKIP_EXISTING_SERIES = f"""
DELETE FROM {SERIES_STAGE} x USING class_series cs WHERE cs.legacy_id = x.legacy_id
RETURNING x.line
"""  # noqa: S608 - composed from module constants; values are bind parameters
SKIP_EXISTING_SESSIONS = f"""
DELETE FROM {SESSION_STAGE} s USING class_sessions c WHERE c.legacy_id = s.legacy_id
RETURNING s.line
"""  # noqa: S608 - composed from module constants; values are bind parameters


# A dry run takes its ids from a temporary sequence, so that it consumes no id of the real
# tables (a sequence never gives back what it handed out). They start far above any real
# id and rise in file order, as the real ones would: ties in booking order break the same.
DRY_IDS = "pg_temp.komawari_legacy_dry_ids"
CREATE_DRY_IDS = f"CREATE TEMP SEQUENCE {DRY_IDS} START WITH {2**62}"


def next_id(table: str) -> str:
    """Return SQL for the next id of `table`: its sequence, or the dry run's (:dry_ids)."""
    return (
        f"nextval(coalesce(CAST(:dry_ids AS regclass),"
        f" CAST(pg_get_serial_sequence('{table}', 'id') AS regclass)))"
    )


def _upsert_names(
    table: str, subject_type: str, names: str, *, zone: bool = False
) -> tuple[str, audit.AuditRows]:
    """Return SQL creating the rows of `table` (branches, teachers, students) named in `names`."""
    created = audit.audit_cte(
        "created",
        tag=subject_type,
        action=f"{subject_type}.create",
        subject_type=subject_type,
        branch="id" if zone else "NULL",
        details="jsonb_build_object('name', name)",
    )
    sql = f"""
    WITH names AS ({names}),
    created AS (
        INSERT INTO {table} (id, name{", time_zone" if zone else ""})
        SELECT {next_id(table)}, name{", CAST(:time_zone AS varchar)" if zone else ""}
          FROM names
         WHERE name IS NOT NULL AND name NOT IN (SELECT name FROM {table}) ORDER BY name
        ON CONFLICT (name) DO NOTHING
        RETURNING id, name
    ),
    audited AS ({created.sql})
    SELECT count(*) FROM created
    """  # noqa: S608 - composed from module constants; values are bind parameters
    return sql, created


BRANCH_NAMES = f"""
SELECT branch AS name FROM {SERIES_STAGE} UNION SELECT branch FROM {SESSION_STAGE}
"""  # noqa: S608 - composed from module constants; values are bind parameters
TEACHER_NAMES = f"""
SELECT teacher AS name FROM {SERIES_STAGE} UNION SELECT teacher FROM {SESSION_STAGE}
"""  # noqa: S608 - composed from module constants; values are bind parameters
STUDENT_NAMES = f"""
SELECT student AS name FROM {SERIES_STAGE} UNION SELECT student FROM {SESSION_STAGE}
"""  # noqa: S608 - composed from module constants; values are bind parameters

RESOLVE = tuple(
    f"""
UPDATE {stage} x SET branch_id = b.id, time_zone = b.time_zone, teacher_id = t.id,
       student_id = st.id
  FROM branches b, teachers t, students st
 WHERE b.name = x.branch AND t.name = x.teacher AND st.name = x.student
"""  # noqa: S608 - composed from module constants; values are bind parameters
    for stage in (SERIES_STAGE, SESSION_STAGE)
)


_NAMES = {
    "branches": _upsert_names("branches", "branch", BRANCH_NAMES, zone=True),
    "teachers": _upsert_names("teachers", "teacher", TEACHER_NAMES),
    "students": _upsert_names("students", "student", STUDENT_NAMES),
}
# (result key, SQL) for each kind of name, in the order they are created.
UPSERT_NAMES = tuple((key, sql) for key, (sql, _) in _NAMES.items())


def _numbered(stage: str, table: str) -> str:
    """Return SQL giving each staged row its id from `table`'s sequence, in file order."""
    return f"""
    UPDATE {stage} x SET new_id = n.id
      FROM (SELECT line, {next_id(table)} AS id
              FROM (SELECT line FROM {stage} ORDER BY line) o) n
     WHERE x.line = n.line
    """  # noqa: S608 - composed from module constants; values are bind parameters


NUMBER_SERIES = _numbered(SERIES_STAGE, "class_series")
NUMBER_SESSIONS = _numbered(SESSION_STAGE, "class_sessions")


# A series starts on its first imported lesson (else the day it was created) and counts
# as materialised through its last one: generation continues after it, never before.
SERIES_DATES = f"""
UPDATE {SERIES_STAGE} x
   SET first_date = coalesce(d.first, (x.created_at AT TIME ZONE x.time_zone)::date),
       generated_through = d.last
  FROM {SERIES_STAGE} y
  LEFT JOIN (SELECT series_legacy_id, min(date) AS first, max(date) AS last
               FROM {SESSION_STAGE} GROUP BY series_legacy_id) d
         ON d.series_legacy_id = y.legacy_id
 WHERE y.line = x.line
"""  # noqa: S608 - composed from module constants; values are bind parameters
# An ENDED series ends on its last imported lesson (or the day it starts).
SERIES_ENDS = f"""
UPDATE {SERIES_STAGE} SET last_date = coalesce(generated_through, first_date)
 WHERE status = 'ENDED'
"""  # noqa: S608 - composed from module constants; values are bind parameters

# Promise 3 on the way in: the earliest ACTIVE series stays ACTIVE (existing ones first).
SERIES_DEDUPE = f"""
WITH cand AS (
    SELECT id, 0 AS origin, branch_id, teacher_id, kind, student_id, title, start_time,
           end_time, weekdays, created_at
      FROM class_series WHERE {rules.ACTIVE_SERIES}
    UNION ALL
    SELECT new_id, 1, branch_id, teacher_id, 'PRIVATE'::series_kind, student_id, NULL,
           start_time, end_time, weekdays, created_at
      FROM {SERIES_STAGE} WHERE status = 'ACTIVE'
),
ranked AS (
    SELECT id, origin, first_value(id) OVER w AS keep_id, row_number() OVER w AS rn
      FROM cand WINDOW w AS (PARTITION BY {rules.SERIES_KEY} ORDER BY origin, {rules.KEEP_ORDER})
)
UPDATE {SERIES_STAGE} x SET keep_id = r.keep_id
  FROM ranked r WHERE r.origin = 1 AND r.id = x.new_id AND r.rn > 1
"""  # noqa: S608 - composed from module constants; values are bind parameters

_SERIES_IMPORTED = audit.audit_cte(
    "ins",
    tag="series_import",
    action="series.import",
    subject_type="series",
    series="id",
    details="jsonb_build_object('legacy_id', legacy_id, 'status', status)",
)
_SERIES_PAUSED = audit.audit_cte(
    "ins WHERE duplicate_of_id IS NOT NULL",
    tag="series_paused",
    action="series.pause_duplicate",
    subject_type="series",
    series="id",
    reason="status_reason",
    details="jsonb_build_object('duplicate_of_id', duplicate_of_id, 'legacy_id', legacy_id)",
)
INSERT_SERIES = f"""
WITH ins AS (
    INSERT INTO class_series (id, branch_id, teacher_id, kind, student_id, weekdays,
                              start_time, end_time, first_date, last_date, interval_weeks,
                              status, generated_through, status_reason, duplicate_of_id,
                              legacy_id, created_at, updated_at)
    SELECT new_id, branch_id, teacher_id, 'PRIVATE', student_id, weekdays, start_time,
           end_time, first_date, last_date, 1,
           CAST(CASE WHEN keep_id IS NULL THEN status ELSE 'PAUSED' END AS series_status),
           generated_through,
           CASE WHEN keep_id IS NOT NULL THEN 'duplicate of series ' || keep_id END,
           keep_id, legacy_id, created_at, now()
      FROM {SERIES_STAGE} ORDER BY new_id
    RETURNING id, branch_id, status, duplicate_of_id, legacy_id, status_reason
),
audited AS ({_SERIES_IMPORTED.sql}),
paused AS ({_SERIES_PAUSED.sql})
SELECT count(*) AS created, count(*) FILTER (WHERE duplicate_of_id IS NOT NULL) AS paused
  FROM ins
"""  # noqa: S608 - composed from module constants; values are bind parameters

SESSION_SERIES = f"""
UPDATE {SESSION_STAGE} s SET series_id = cs.id, branch_id = cs.branch_id
  FROM class_series cs WHERE cs.legacy_id = s.series_legacy_id
"""  # noqa: S608 - composed from module constants; values are bind parameters
SESSION_STATES = f"""
UPDATE {SESSION_STAGE} s
   SET time_zone = b.time_zone,
       original_date = CASE WHEN s.series_id IS NOT NULL THEN s.date END,
       final_status = CASE WHEN s.status = 'CANCELLED' THEN 'CANCELLED' ELSE 'CONFIRMED' END,
       cancel_reason = CASE WHEN s.status = 'CANCELLED' THEN :legacy_cancelled END
  FROM branches b WHERE b.id = s.branch_id
"""  # noqa: S608 - composed from module constants; values are bind parameters

# Promise 1 on the way in: of the same live lesson the earliest created stays live.
SESSION_EXACT = f"""
WITH cand AS (
    SELECT new_id AS id, 1 AS origin, created_at, {rules.LESSON_KEY}
      FROM {SESSION_STAGE} WHERE final_status <> 'CANCELLED'
    UNION ALL
    SELECT c.id, 0, c.created_at, {keys.columns(keys.LESSON_KEY, "c")}
      FROM (SELECT * FROM class_sessions WHERE {rules.LIVE_PRIVATE}) c
     WHERE ({keys.columns(keys.LESSON_KEY, "c")}) IN
           (SELECT {rules.LESSON_KEY} FROM {SESSION_STAGE})
),
ranked AS (
    SELECT id, origin, first_value(id) OVER w AS keep_id, row_number() OVER w AS rn
      FROM cand WINDOW w AS (PARTITION BY {rules.LESSON_KEY} ORDER BY origin, {rules.KEEP_ORDER})
)
UPDATE {SESSION_STAGE} s SET final_status = 'CANCELLED', cancel_reason = :reason,
       duplicate_of_id = r.keep_id
  FROM ranked r WHERE r.origin = 1 AND r.id = s.new_id AND r.rn > 1
"""  # noqa: S608 - composed from module constants; values are bind parameters

# Promise 2 on the way in: one row holds (series, original date); the others point to the
# lesson kept above when they are copies of it, else to the holder (as dedupe does).
SESSION_OCCURRENCE = f"""
WITH cand AS (
    SELECT new_id AS id, 1 AS origin, final_status AS status, created_at, {rules.OCCURRENCE_KEY}
      FROM {SESSION_STAGE} WHERE series_id IS NOT NULL
    UNION ALL
    SELECT c.id, 0, c.status::text, c.created_at, {keys.columns(keys.OCCURRENCE_KEY, "c")}
      FROM class_sessions c
     WHERE ({keys.columns(keys.OCCURRENCE_KEY, "c")}) IN
           (SELECT {rules.OCCURRENCE_KEY} FROM {SESSION_STAGE} WHERE series_id IS NOT NULL)
),
ranked AS (
    SELECT id, origin, first_value(id) OVER w AS keep_id, row_number() OVER w AS rn
      FROM cand
    WINDOW w AS (PARTITION BY {rules.OCCURRENCE_KEY} ORDER BY origin, {rules.OCCURRENCE_ORDER})
)
UPDATE {SESSION_STAGE} s SET original_date = NULL, final_status = 'CANCELLED',
       cancel_reason = coalesce(s.cancel_reason, :reason),
       duplicate_of_id = coalesce(s.duplicate_of_id, r.keep_id)
  FROM ranked r WHERE r.origin = 1 AND r.id = s.new_id AND r.rn > 1
"""  # noqa: S608 - composed from module constants; values are bind parameters

_SESSIONS_IMPORTED = audit.audit_cte(
    f"ins JOIN {SESSION_STAGE} s ON s.new_id = ins.id",
    tag="session_import",
    action="session.import",
    subject="s.new_id",
    branch="s.branch_id",
    subject_type="session",
    series="s.series_id",
    occurrence="s.original_date",
    reason="s.cancel_reason",
    details="jsonb_build_object('legacy_id', s.legacy_id, 'legacy_status', s.status,"
    " 'line', s.line, 'duplicate_of_id', s.duplicate_of_id)",
)
INSERT_SESSIONS = f"""
WITH ins AS (
    INSERT INTO class_sessions (id, branch_id, time_zone, series_id, original_date, kind, date,
                                start_time, end_time, teacher_id, student_id, status,
                                cancel_reason, cancelled_at, duplicate_of_id, legacy_id,
                                created_at, updated_at)
    SELECT new_id, branch_id, time_zone, series_id, original_date, 'PRIVATE', date,
           start_time, end_time, teacher_id, student_id,
           CAST(final_status AS session_status), cancel_reason,
           CASE WHEN duplicate_of_id IS NOT NULL THEN now() END, duplicate_of_id, legacy_id,
           created_at, now()
      FROM {SESSION_STAGE} ORDER BY new_id
    RETURNING id, status
),
audited AS ({_SESSIONS_IMPORTED.sql})
SELECT s.new_id AS id, s.final_status, s.duplicate_of_id FROM ins
  JOIN {SESSION_STAGE} s ON s.new_id = ins.id
"""  # noqa: S608 - composed from module constants; values are bind parameters

# Values the statements above bind (besides the actor's, :reason and :time_zone).
BINDS = {
    **audit.binds(
        *(rows for _, rows in _NAMES.values()),
        _SERIES_IMPORTED,
        _SERIES_PAUSED,
        _SESSIONS_IMPORTED,
    ),
    "legacy_cancelled": LEGACY_CANCELLED,
}

COPY_SERIES = f"COPY {SERIES_STAGE} ({SERIES_COLUMNS}) FROM STDIN"
COPY_SESSIONS = f"COPY {SESSION_STAGE} ({SESSION_COLUMNS}) FROM STDIN"

# Where the series of imported sessions already live (a re-import of sessions only).
SERIES_BRANCHES = """
SELECT cs.legacy_id, b.name FROM class_series cs JOIN branches b ON b.id = cs.branch_id
 WHERE cs.legacy_id = ANY(:ids)
"""
# Up to two branches: enough to tell whether there is only one.
SOME_BRANCHES = "SELECT name FROM branches LIMIT 2"
# Fresh statistics after a bulk load, so the conflict check gets a sane plan (ANALYZE
# counts the rows this transaction inserted).
ANALYZE = "ANALYZE class_series, class_sessions"
STATUS_COUNTS = "SELECT status::text, count(*) FROM class_sessions WHERE id = ANY(:ids) GROUP BY 1"
