"""The benchmark school of the generation issue, and a way back to an empty schedule.

20 branches, 200 teachers, 3,000 students, N ACTIVE private series on 1 to 3 weekdays
(seed 42); optional group series; generation pinned at NOW with a 12-week horizon.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, text

from komawari.generation import service as generation

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
TODAY = date(2026, 11, 30)
HORIZON = 84


def fixture(engine: Engine, series: int, seed: int = 42) -> None:
    """Insert the deterministic school: branches, teachers, students, series."""
    rnd = random.Random(seed)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO branches (name, time_zone) SELECT 'B' || g, 'Asia/Tokyo'"
                " FROM generate_series(1, 20) g"
            )
        )
        conn.execute(
            text("INSERT INTO teachers (name) SELECT 'T' || g FROM generate_series(1, 200) g")
        )
        conn.execute(
            text("INSERT INTO students (name) SELECT 'S' || g FROM generate_series(1, 3000) g")
        )
        rows: list[dict[str, object]] = []
        used: set[tuple[int, int, int, int]] = set()
        while len(rows) < series:
            teacher = rnd.randrange(1, 201)
            student = rnd.randrange(1, 3001)
            start = rnd.randrange(9, 21)
            mask = 0
            for d in rnd.sample(range(7), rnd.randint(1, 3)):
                mask |= 1 << d
            key = (teacher, student, start, mask)
            if key in used:
                continue
            used.add(key)
            rows.append(
                {
                    "b": 1 + teacher % 20,
                    "t": teacher,
                    "s": student,
                    "w": mask,
                    "st": f"{start:02d}:00",
                    "et": f"{start:02d}:50",
                    "fd": TODAY - timedelta(days=rnd.randrange(60)),
                }
            )
        conn.execute(
            text(
                "INSERT INTO class_series (branch_id, teacher_id, kind, student_id, weekdays,"
                " start_time, end_time, first_date) VALUES (:b, :t, 'PRIVATE', :s, :w,"
                " CAST(:st AS time), CAST(:et AS time), :fd)"
            ),
            rows,
        )


def add_contacts(engine: Engine) -> int:
    """Give every student a guardian and every teacher a contact (the notices' outbox then
    has people to tell of each new series); return how many contacts."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO contacts (name, email) SELECT 'G' || s.id, 'g' || s.id || '@x.jp'"
                " FROM students s ORDER BY s.id"
            )
        )
        conn.execute(
            text(
                "INSERT INTO contact_students (contact_id, student_id, relation)"
                " SELECT c.id, s.id, 'mother' FROM students s"
                " JOIN contacts c ON c.email = 'g' || s.id || '@x.jp'"
            )
        )
        conn.execute(
            text(
                "INSERT INTO contacts (name, email, teacher_id)"
                " SELECT 'T' || t.id, 't' || t.id || '@x.jp', t.id FROM teachers t"
            )
        )
        return int(conn.execute(text("SELECT count(*) FROM contacts")).scalar_one())


def add_groups(engine: Engine, groups: int, seed: int = 7) -> None:
    """Add group series (4 to 8 enrolled students each) to the fixture's school."""
    rnd = random.Random(seed)
    with engine.begin() as conn:
        first = conn.execute(text("SELECT coalesce(max(id), 0) FROM class_series")).scalar_one()
        rows = []
        for g in range(groups):
            teacher, start = rnd.randrange(1, 201), rnd.randrange(9, 21)
            rows.append(
                {
                    "b": 1 + teacher % 20,
                    "t": teacher,
                    "title": f"Group {g}",
                    "w": 1 << rnd.randrange(7),
                    "st": f"{start:02d}:00",
                    "et": f"{start:02d}:50",
                    "fd": TODAY - timedelta(days=rnd.randrange(60)),
                }
            )
        conn.execute(
            text(
                "INSERT INTO class_series (branch_id, teacher_id, kind, title, capacity, weekdays,"
                " start_time, end_time, first_date) VALUES (:b, :t, 'GROUP', :title, 8, :w,"
                " CAST(:st AS time), CAST(:et AS time), :fd)"
            ),
            rows,
        )
        conn.execute(
            text(
                "INSERT INTO series_enrolments (series_id, student_id, from_date)"
                " SELECT DISTINCT cs.id, 1 + (cs.id * 37 + k * 101) % 3000, cs.first_date"
                " FROM class_series cs, generate_series(1, 4 + cs.id % 5) k"
                " WHERE cs.id > :first"
            ),
            {"first": first},
        )


def reset(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE class_sessions, session_attendees, audit_events,"
                " generation_runs, notice_intents RESTART IDENTITY CASCADE"
            )
        )
        conn.execute(text("UPDATE class_series SET generated_through = NULL"))


def scope() -> generation.Scope:
    return generation.Scope(now=NOW, horizon_days=HORIZON)
