"""Breaks and pauses as rows: a break (from a day until a day) ends by itself, and resuming
brings back the lessons a pause cancelled.

`series_pauses` keeps each pause of a series: its first day, its last (a break; none for
an open pause, which lasts until resumed), why, and when it was ended. The open breaks of
a series never overlap (an exclusion over core GiST operator classes). A lesson a pause
cancelled points to it (`class_sessions.cancelled_by_pause_id`); restoring the lesson by
hand clears it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "series_pauses",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("series_id", sa.BigInteger(), nullable=False),
        sa.Column("from_date", sa.Date(), nullable=False),
        sa.Column("until_date", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "until_date IS NULL OR until_date >= from_date",
            name=op.f("ck_series_pauses_until_not_before_from"),
        ),
        postgresql.ExcludeConstraint(
            (sa.text("int8range(series_id, series_id, '[]')"), "="),
            (sa.text("daterange(from_date, until_date, '[]')"), "&&"),
            using="gist",
            where=sa.text("ended_at IS NULL AND until_date IS NOT NULL"),
            name="ex_series_pauses_no_overlapping_breaks",
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["class_series.id"],
            name=op.f("fk_series_pauses_series_id_class_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_series_pauses")),
    )
    op.create_index("ix_series_pauses_series_id", "series_pauses", ["series_id"])
    op.add_column(
        "class_sessions",
        sa.Column(
            "cancelled_by_pause_id",
            sa.BigInteger(),
            sa.ForeignKey(
                "series_pauses.id", name="fk_class_sessions_cancelled_by_pause_id_series_pauses"
            ),
            nullable=True,
        ),
    )
    op.create_check_constraint(
        op.f("ck_class_sessions_pause_cancelled_only"),
        "class_sessions",
        "cancelled_by_pause_id IS NULL OR status = 'CANCELLED'",
    )
    op.create_index(
        "ix_class_sessions_cancelled_by_pause_id",
        "class_sessions",
        ["cancelled_by_pause_id"],
        postgresql_where=sa.text("cancelled_by_pause_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_class_sessions_cancelled_by_pause_id", table_name="class_sessions")
    op.drop_constraint(op.f("ck_class_sessions_pause_cancelled_only"), "class_sessions")
    op.drop_column("class_sessions", "cancelled_by_pause_id")
    op.drop_index("ix_series_pauses_series_id", table_name="series_pauses")
    op.drop_table("series_pauses")
