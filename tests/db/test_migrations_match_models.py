"""The migrations build the schema the models describe: Alembic finds nothing to add."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from komawari.db import migrate
from komawari.db.registry import Base


def test_the_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": migrate.include_object}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
