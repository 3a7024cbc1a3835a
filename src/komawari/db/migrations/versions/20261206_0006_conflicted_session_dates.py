"""Index the dates of sessions that name conflicts, to find who clashes with a day.

A day's schedule lists, for each session, the later bookings that clash with it: the
sessions of the neighbouring days whose `conflicts_with` names it. Only CONFLICTED rows
name any, so a partial index on their dates keeps that lookup as small as the conflicts,
however many lessons the table holds (without it, every lesson of every branch within
two days of the day was read: 35,000 rows at 5 million).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_class_sessions_conflicted_date",
        "class_sessions",
        ["date"],
        postgresql_where=sa.text("cardinality(conflicts_with) > 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_class_sessions_conflicted_date", table_name="class_sessions")
