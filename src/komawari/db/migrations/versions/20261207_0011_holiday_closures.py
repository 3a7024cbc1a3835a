"""A branch may close on Japan's national holidays: each holiday is a closure it made.

`branches.closed_on_holidays` is the setting (off by default); the closures it makes are
marked `branch_closures.holiday`, so turning it off reopens those days only.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "branches",
        sa.Column("closed_on_holidays", sa.Boolean(), server_default="false", nullable=False),
    )
    op.add_column(
        "branch_closures",
        sa.Column("holiday", sa.Boolean(), server_default="false", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("branch_closures", "holiday")
    op.drop_column("branches", "closed_on_holidays")
