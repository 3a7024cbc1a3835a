"""Migrations (Alembic): apply them, and read the database's revision."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text


def alembic_config(engine: Engine | None = None) -> Config:
    """Return an Alembic configuration for the packaged migrations."""
    cfg = Config()
    location = Path(str(resources.files("komawari.db") / "migrations"))
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


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """What Alembic compares with the models: all but the job queue's tables, which are
    Procrastinate's (migration 0019 installs its schema), not Komawari's models."""
    return not (type_ == "table" and name is not None and name.startswith("procrastinate_"))
