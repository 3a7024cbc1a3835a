"""A branch's fixed periods (コマ): a name, a start and an end, unique by name.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "branch_periods",
        sa.Column("branch_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint("end_time > start_time", name=op.f("ck_branch_periods_end_after_start")),
        sa.CheckConstraint(
            "length(btrim(name)) > 0", name=op.f("ck_branch_periods_name_not_blank")
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"],
            ["branches.id"],
            name=op.f("fk_branch_periods_branch_id_branches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_branch_periods")),
        sa.UniqueConstraint("branch_id", "name", name="uq_branch_periods_branch_id_name"),
    )


def downgrade() -> None:
    op.drop_table("branch_periods")
