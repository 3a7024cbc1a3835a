"""The data of `benchmarks/api_schedule.py`: the 600-lesson day, the same day's JSON built
by PostgreSQL alone, and the large database of the scale run (200 branches, two years)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from komawari.audit.service import Actor
from komawari.auth import service as auth
from komawari.auth.enums import Role
from komawari.db import migrate
from komawari.sessions import reevaluate

DAY = date(2026, 12, 3)
DAYS = 28

SEED_SQL = """
INSERT INTO class_sessions (branch_id, time_zone, kind, date, start_time, end_time,
                            teacher_id, student_id, room_id)
SELECT :branch, 'Asia/Tokyo', 'PRIVATE', d::date,
       time '09:00' + make_interval(mins => k * 70),
       time '10:00' + make_interval(mins => k * 70),
       :t0 + t,
       -- the last lesson of teachers 30..59 takes a student of teachers 0..29: conflicts
       :s0 + CASE WHEN k = 9 AND t >= :teachers / 2 THEN (t - :teachers / 2) * 10 + 9
                  ELSE t * 10 + k END,
       CAST(:r0 AS bigint) + t
  FROM generate_series(CAST(:first AS date), CAST(:first AS date) + :days - 1, '1 day') d,
       generate_series(0, :teachers - 1) t, generate_series(0, 9) k
 ORDER BY d, t, k
"""


def _ids(s: Session, sql: str, params: dict[str, Any]) -> int:
    ids = sorted(int(i) for i in s.execute(text(sql), params).scalars())
    assert ids == list(range(ids[0], ids[0] + len(ids))), "ids of one insert are contiguous"
    return ids[0]


def seed(url: str) -> tuple[int, str, dict[str, int]]:
    """Fill the database; return the big branch's id, an admin token and the row counts."""
    engine = create_engine(url)
    with Session(engine) as s, s.begin():
        big, small = (
            _ids(
                s,
                "INSERT INTO branches (name, time_zone) VALUES (:n, 'Asia/Tokyo') RETURNING id",
                {"n": n},
            )
            for n in ("Shibuya", "Yokohama")
        )
        t0 = _ids(
            s,
            "INSERT INTO teachers (name) SELECT 'Teacher ' || i FROM"
            " generate_series(1, 70) i RETURNING id",
            {},
        )
        s0 = _ids(
            s,
            "INSERT INTO students (name) SELECT 'Student ' || i FROM"
            " generate_series(1, 700) i RETURNING id",
            {},
        )
        r0 = _ids(
            s,
            "INSERT INTO rooms (branch_id, name, capacity) SELECT :b, 'Room ' || i, 2"
            " FROM generate_series(1, 60) i RETURNING id",
            {"b": big},
        )
        common = {"first": DAY, "days": DAYS}
        s.execute(
            text(SEED_SQL), {**common, "branch": big, "t0": t0, "s0": s0, "r0": r0, "teachers": 60}
        )
        s.execute(
            text(SEED_SQL),
            {**common, "branch": small, "t0": t0 + 60, "s0": s0 + 600, "r0": None, "teachers": 10},
        )
        reevaluate.evaluate_all(s)
        user, _ = auth.ensure_user(s, username="bench", role=Role.ADMIN, actor=Actor("bench", "b"))
        token = auth.create_token(s, user=user, name="bench", actor=Actor("bench", "b"))[1]
    engine.dispose()
    return big, token, day_counts(url, big)


def day_counts(url: str, branch: int) -> dict[str, int]:
    """Count the day's sessions by status, and every session row."""
    engine = create_engine(url)
    with engine.connect() as conn:
        counts = {
            str(k): int(v)
            for k, v in conn.execute(
                text(
                    "SELECT status, count(*) FROM class_sessions"
                    " WHERE branch_id = :b AND date = :d GROUP BY status"
                ),
                {"b": branch, "d": DAY},
            )
        }
        counts["all_rows"] = int(
            conn.execute(text("SELECT count(*) FROM class_sessions")).scalar_one()
        )
    engine.dispose()
    return counts


def _clock(column: str) -> str:
    """Format a time as the API does: HH:MM, with seconds only when there are some."""
    return (
        f"to_char({column}, CASE WHEN extract(second FROM {column}) = 0"
        " THEN 'HH24:MI' ELSE 'HH24:MI:SS' END)"
    )


# A ConflictRef of session `b` (names from `bt`, `bs`) as seen from day session `d`.
_REF = (
    """json_build_object(
             'session_id', b.id, 'branch_id', b.branch_id, 'date', b.date,
             'start_time', """
    + _clock("b.start_time")
    + """, 'end_time', """
    + _clock("b.end_time")
    + """,
             'teacher_id', b.teacher_id,
             'teacher_name', bt.name, 'student_id', b.student_id, 'student_name', bs.name,
             'title', b.title, 'room_id', b.room_id, 'status', b.status,
             'shared', array_remove(ARRAY[
                 CASE WHEN b.teacher_id = d.teacher_id THEN 'teacher' END,
                 CASE WHEN b.student_id = d.student_id THEN 'student' END,
                 CASE WHEN b.room_id = d.room_id THEN 'room' END], NULL),
             'hidden', false)"""
)

# The same document as GET /api/branches/{id}/schedule?date= (the JSON is equal once
# parsed; PostgreSQL's text has spaces around separators).
DAY_JSON = (
    """
WITH day AS (
    SELECT s.id, s.series_id, s.original_date, s.kind, s.title, s.start_time, s.end_time,
           s.teacher_id, t.name AS teacher_name, s.student_id, st.name AS student_name,
           s.room_id, r.name AS room_name, s.status, s.cancel_reason, s.conflicts_with
      FROM class_sessions s JOIN teachers t ON t.id = s.teacher_id
      LEFT JOIN students st ON st.id = s.student_id LEFT JOIN rooms r ON r.id = s.room_id
     WHERE s.branch_id = %(b)s AND s.date = %(d)s
), refs AS MATERIALIZED (
    SELECT d.id, json_agg("""
    + _REF
    + """ ORDER BY k.n) AS refs
      FROM day d CROSS JOIN LATERAL unnest(d.conflicts_with) WITH ORDINALITY k(bid, n)
      JOIN class_sessions b ON b.id = k.bid JOIN teachers bt ON bt.id = b.teacher_id
      LEFT JOIN students bs ON bs.id = b.student_id
     GROUP BY d.id
), clashes AS MATERIALIZED (
    SELECT d.id, json_agg("""
    + _REF
    + """ ORDER BY b.id) AS refs
      FROM class_sessions b CROSS JOIN LATERAL unnest(b.conflicts_with) k(bid)
      JOIN day d ON d.id = k.bid
      JOIN teachers bt ON bt.id = b.teacher_id LEFT JOIN students bs ON bs.id = b.student_id
     WHERE b.date BETWEEN CAST(%(d)s AS date) - 2 AND CAST(%(d)s AS date) + 2
       AND cardinality(b.conflicts_with) > 0 AND b.conflicts_with && ARRAY(SELECT id FROM day)
     GROUP BY d.id
), attending AS MATERIALIZED (
    SELECT a.session_id, array_agg(a.student_id ORDER BY a.student_id) AS ids
      FROM session_attendees a WHERE a.session_id IN (SELECT id FROM day WHERE kind = 'GROUP')
     GROUP BY a.session_id
), by_teacher AS (
    SELECT d.teacher_id, d.teacher_name, json_agg(json_build_object(
             'id', d.id, 'series_id', d.series_id, 'original_date', d.original_date,
             'kind', d.kind, 'title', d.title, 'start_time', """
    + _clock("d.start_time")
    + """,
             'end_time', """
    + _clock("d.end_time")
    + """, 'student_id', d.student_id,
             'student_name', d.student_name,
             'student_ids', CASE WHEN d.student_id IS NOT NULL THEN ARRAY[d.student_id]
                                 ELSE coalesce(a.ids, '{}') END,
             'room_id', d.room_id, 'room_name', d.room_name, 'status', d.status,
             'cancel_reason', d.cancel_reason, 'conflicts_with', coalesce(f.refs, '[]'),
             'clashed_by', coalesce(c.refs, '[]'))
             ORDER BY d.start_time, d.id) AS sessions
      FROM day d LEFT JOIN refs f ON f.id = d.id LEFT JOIN clashes c ON c.id = d.id
      LEFT JOIN attending a ON a.session_id = d.id
     GROUP BY d.teacher_id, d.teacher_name
)
SELECT json_build_object(
         'branch_id', br.id, 'branch_name', br.name, 'time_zone', br.time_zone,
         'date', CAST(%(d)s AS date),
         'counts', (SELECT json_build_object(
                      'total', count(*),
                      'confirmed', count(*) FILTER (WHERE status = 'CONFIRMED'),
                      'conflicted', count(*) FILTER (WHERE status = 'CONFLICTED'),
                      'cancelled', count(*) FILTER (WHERE status = 'CANCELLED')) FROM day),
         'teachers', coalesce((SELECT json_agg(json_build_object(
                        'teacher_id', teacher_id, 'teacher_name', teacher_name,
                        'sessions', sessions) ORDER BY teacher_name, teacher_id)
                      FROM by_teacher), '[]'))::text
  FROM branches br WHERE br.id = %(b)s
"""
)


def same_json(url: str, branch: int, day: date, answer: dict[str, Any]) -> bool:
    """Tell whether DAY_JSON builds the API's answer."""
    engine = create_engine(url)
    sql = DAY_JSON.replace("%(b)s", ":b").replace("%(d)s", ":d")
    with engine.connect() as conn:
        built = conn.execute(text(sql), {"b": branch, "d": day}).scalar_one()
    engine.dispose()
    return bool(json.loads(built) == answer)


# Group lessons of 70 teachers at 198 more branches, every day for two years: rows the
# day's query must step over (no attendees, so no guard or conflict applies to them).
FILL = """
INSERT INTO class_sessions (branch_id, time_zone, kind, title, date, start_time, end_time,
                            teacher_id)
SELECT b.id, b.time_zone, 'GROUP', 'Group ' || k, d::date,
       time '08:00' + make_interval(mins => (k % 14) * 60),
       time '08:50' + make_interval(mins => (k % 14) * 60),
       :t0 + (k % 70)
  FROM branches b,
       generate_series(CAST(:first AS date), CAST(:first AS date) + 729, '1 day') d,
       generate_series(0, :per_day - 1) k
 WHERE b.id = ANY(:ids)
"""


def fill(url: str, rows: int) -> None:
    """Add branches and lessons until the table holds about `rows` session rows."""
    engine = create_engine(url)
    with Session(engine) as s, s.begin():
        ids = list(
            s.execute(
                text(
                    "INSERT INTO branches (name, time_zone) SELECT 'Branch ' || i, 'Asia/Tokyo'"
                    " FROM generate_series(3, 200) i RETURNING id"
                )
            ).scalars()
        )
        t0 = s.execute(text("SELECT min(id) FROM teachers")).scalar_one()
        have = s.execute(text("SELECT count(*) FROM class_sessions")).scalar_one()
    per_day = max(1, (rows - have) // (len(ids) * 730))
    first = date(2025, 12, 4)
    for chunk in range(0, len(ids), 10):  # one transaction per 10 branches
        with Session(engine) as s, s.begin():
            s.execute(
                text(FILL),
                {"ids": ids[chunk : chunk + 10], "t0": t0, "first": first, "per_day": per_day},
            )
    with engine.connect() as conn:
        conn.execute(text("CREATE TABLE bench_scale_done ()"))
        conn.commit()
    with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text("VACUUM ANALYZE class_sessions"))
    engine.dispose()


def scale_database(server: str, rows: int) -> tuple[str, int, str]:
    """Return the URL, branch and token of a database of `rows` session rows (reused if kept)."""
    name = f"komawari_bench_api_scale_{rows}"
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = create_engine(url)
    migrate.upgrade(engine)  # a kept database follows the code's migrations
    engine.dispose()
    if not exists:
        seed(url)
        fill(url, rows)
    with Session(engine) as s, s.begin():
        if s.execute(text("SELECT to_regclass('bench_scale_done')")).scalar_one() is None:
            raise SystemExit(f"{name} exists but was never filled; drop it and run again")
        big = int(s.execute(text("SELECT id FROM branches WHERE name = 'Shibuya'")).scalar_one())
        user, _ = auth.ensure_user(s, username="bench", role=Role.ADMIN, actor=Actor("b", "b"))
        token = auth.create_token(s, user=user, name="bench", actor=Actor("b", "b"))[1]
    engine.dispose()
    return url, big, token
