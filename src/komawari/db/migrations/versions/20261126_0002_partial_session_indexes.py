"""Index class_sessions' mostly-NULL lookup columns only where they are set.

student_id is NULL on group lessons, room_id on lessons without a room, duplicate_of_id
on every row but repaired duplicates; every lookup on them is by equality. Partial
indexes answer the same lookups and cost nothing on the rows without a value.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 12:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARTIAL = {
    "ix_class_sessions_student_id_starts_at": ["student_id", "starts_at"],
    "ix_class_sessions_room_id_starts_at": ["room_id", "starts_at"],
    "ix_class_sessions_duplicate_of_id": ["duplicate_of_id"],
}


def upgrade() -> None:
    for name, columns in PARTIAL.items():
        op.drop_index(name, table_name="class_sessions")
        op.create_index(
            name,
            "class_sessions",
            columns,
            postgresql_where=sa.text(f"{columns[0]} IS NOT NULL"),
        )


def downgrade() -> None:
    for name, columns in PARTIAL.items():
        op.drop_index(name, table_name="class_sessions")
        op.create_index(name, "class_sessions", columns)
