"""The job queue: Procrastinate's schema (its jobs, periodic defers, workers, events).

Procrastinate keeps its queue in PostgreSQL; this installs the schema of the version the
lock pins (3.10). A later Procrastinate that changes its schema ships migration files of
its own: a Komawari migration applies them when the lock moves.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 01:00:00
"""

from collections.abc import Sequence

from alembic import op
from procrastinate.schema import SchemaManager

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SQLAlchemy's text() would read ":name" as a bind parameter; the driver's own
    # execute takes the script as it is.
    op.get_bind().exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


def downgrade() -> None:
    op.execute(
        "DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers,"
        " procrastinate_jobs, procrastinate_workers CASCADE"
    )
    for name in (
        "procrastinate_job_to_defer_v1",
        "procrastinate_job_event_type",
        "procrastinate_job_status",
    ):
        op.execute(f"DROP TYPE IF EXISTS {name} CASCADE")
    op.execute(
        "DO $$ DECLARE f record; BEGIN FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p"
        " WHERE p.proname LIKE 'procrastinate%' LOOP EXECUTE 'DROP FUNCTION ' || f.sig"
        " || ' CASCADE'; END LOOP; END $$"
    )
