"""Teachers, students and rooms can be deactivated; API tokens can expire.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 21:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PEOPLE_AND_ROOMS = ("teachers", "students", "rooms")


def upgrade() -> None:
    for table in _PEOPLE_AND_ROOMS:
        op.add_column(
            table, sa.Column("active", sa.Boolean(), server_default="true", nullable=False)
        )
    op.add_column("api_tokens", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("api_tokens", "expires_at")
    for table in _PEOPLE_AND_ROOMS:
        op.drop_column(table, "active")
