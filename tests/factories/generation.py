"""A deterministic school for generation tests and the expected rows, from the pure rules."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine, text

from komawari.scheduling.recurrence import Pattern, occurrences

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # Monday noon in Tokyo
HORIZON = 28


def build(engine: Engine, *, series: int = 300, branches: int = 3, seed: int = 1) -> None:
    """Insert branches, teachers, students and ACTIVE private series, set-based."""
    rnd = random.Random(seed)
    with engine.begin() as conn:
        for i in range(branches):
            conn.execute(
                text("INSERT INTO branches (name, time_zone) VALUES (:n, 'Asia/Tokyo')"),
                {"n": f"W{i}"},
            )
        conn.execute(
            text("INSERT INTO teachers (name) SELECT 'T' || g FROM generate_series(1, :n) g"),
            {"n": max(1, series // 10)},
        )
        conn.execute(
            text("INSERT INTO students (name) SELECT 'S' || g FROM generate_series(1, :n) g"),
            {"n": series},
        )
        rows = []
        for i in range(series):
            start = 14 + rnd.randrange(8)
            mask = 0
            for d in rnd.sample(range(7), rnd.randint(1, 3)):
                mask |= 1 << d
            rows.append(
                {
                    "b": 1 + i % branches,
                    "t": 1 + i % max(1, series // 10),
                    "s": 1 + i,
                    "w": mask,
                    "st": time(start),
                    "et": time(start + 1),
                    "fd": date(2026, 11, 23) + timedelta(days=rnd.randrange(21)),
                    "iw": rnd.choice((1, 1, 1, 2)),
                }
            )
        conn.execute(
            text(
                "INSERT INTO class_series (branch_id, teacher_id, kind, student_id, weekdays,"
                " start_time, end_time, first_date, interval_weeks)"
                " VALUES (:b, :t, 'PRIVATE', :s, :w, :st, :et, :fd, :iw)"
            ),
            rows,
        )


def expected(engine: Engine) -> set[tuple[int, date]]:
    """Return the (series, date) pairs one run must leave, computed by the pure rules."""
    today = date(2026, 11, 30)  # NOW in Tokyo
    through = today + timedelta(days=HORIZON)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, weekdays, first_date, last_date, interval_weeks FROM class_series"
                " WHERE status = 'ACTIVE'"
            )
        ).all()
    out: set[tuple[int, date]] = set()
    for sid, mask, first, last, every in rows:
        pattern = Pattern(weekdays=mask, first_date=first, last_date=last, interval_weeks=every)
        out |= {(sid, d) for d in occurrences(pattern, max(today, first), through)}
    return out


def actual(engine: Engine) -> list[tuple[int, date]]:
    """Return every (series, original date) row, duplicates included."""
    with engine.connect() as conn:
        return [
            (int(a), b)
            for a, b in conn.execute(
                text(
                    "SELECT series_id, original_date FROM class_sessions"
                    " WHERE series_id IS NOT NULL"
                )
            )
        ]
