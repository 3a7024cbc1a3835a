"""The named uniqueness guards the database enforces, and their states."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text


@dataclass(frozen=True)
class Guard:
    """A uniqueness guard: its name, what it promises, and the DDL that creates it."""

    name: str
    table: str
    promise: str
    ddl: str


GUARDS: tuple[Guard, ...] = (
    Guard(
        "ux_class_sessions_unique_1on1",
        "class_sessions",
        "one non-cancelled private session per (date, start, end, teacher, student)",
        "CREATE UNIQUE INDEX ux_class_sessions_unique_1on1 ON class_sessions "
        "(date, start_time, end_time, teacher_id, student_id) NULLS NOT DISTINCT "
        "WHERE status <> 'CANCELLED' AND kind = 'PRIVATE'",
    ),
    Guard(
        "uq_class_sessions_occurrence",
        "class_sessions",
        "one session per (series, original date), whatever its status",
        "ALTER TABLE class_sessions ADD CONSTRAINT uq_class_sessions_occurrence "
        "UNIQUE (series_id, original_date)",
    ),
    Guard(
        "ux_class_series_active_private",
        "class_series",
        "one ACTIVE private series per (branch, teacher, student, start, end, weekdays)",
        "CREATE UNIQUE INDEX ux_class_series_active_private ON class_series "
        "(branch_id, teacher_id, student_id, start_time, end_time, weekdays) "
        "NULLS NOT DISTINCT WHERE status = 'ACTIVE' AND kind = 'PRIVATE'",
    ),
    Guard(
        "ux_class_series_active_group",
        "class_series",
        "one ACTIVE group series per (branch, teacher, title, start, end, weekdays)",
        "CREATE UNIQUE INDEX ux_class_series_active_group ON class_series "
        "(branch_id, teacher_id, title, start_time, end_time, weekdays) "
        "NULLS NOT DISTINCT WHERE status = 'ACTIVE' AND kind = 'GROUP'",
    ),
)


def guard_states(engine: Engine) -> dict[str, str]:
    """Return each guard's state: 'ok', 'missing' or 'invalid' (an index left invalid)."""
    states: dict[str, str] = {}
    with engine.connect() as conn:
        for guard in GUARDS:
            row = conn.execute(
                text(
                    "SELECT i.indisvalid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
                    "WHERE c.relname = :name AND c.relnamespace = current_schema()::regnamespace"
                ),
                {"name": guard.name},
            ).first()
            if row is None:
                states[guard.name] = "missing"
            else:
                states[guard.name] = "ok" if row[0] else "invalid"
    return states
