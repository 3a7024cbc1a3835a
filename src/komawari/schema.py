"""Migrations (Alembic) and the named guards the database enforces."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
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


def alembic_config(engine: Engine | None = None) -> Config:
    """Return an Alembic configuration for the packaged migrations."""
    cfg = Config()
    location = Path(str(resources.files("komawari") / "migrations"))
    cfg.set_main_option("script_location", str(location))
    if engine is not None:
        cfg.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
    return cfg


def upgrade(engine: Engine) -> None:
    """Apply every migration up to head (a no-op when already there)."""
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        # One migrator at a time, whatever the number of processes starting together.
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('komawari:migrate'))"))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def head_revision() -> str | None:
    """Return the newest migration's revision."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """Return the database's revision (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


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
