"""A user's last branch: the branch whose pages they saw last, where sign-in lands.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column(
            "last_branch_id",
            sa.BigInteger(),
            sa.ForeignKey(
                "branches.id", name="fk_users_last_branch_id_branches", ondelete="SET NULL"
            ),
            nullable=True,
        ),
    )


def downgrade() -> None:
    op.drop_column("users", "last_branch_id")
