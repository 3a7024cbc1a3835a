"""Notice intents: the message and lesson indexes hold only the rows that name one.

A first generation writes one "new series" intent per person and series; those rows name
no lesson and (until the drain plans them) no message, so indexing their NULLs only
slowed generation's insert. The foreign keys' lookups (`session_id = $1`,
`message_id = $1`) still use the partial indexes.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08 04:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("session_id", "message_id")


def upgrade() -> None:
    for column in _COLUMNS:
        op.drop_index(f"ix_notice_intents_{column}", table_name="notice_intents")
        op.create_index(
            f"ix_notice_intents_{column}",
            "notice_intents",
            [column],
            postgresql_where=f"{column} IS NOT NULL",
        )


def downgrade() -> None:
    for column in _COLUMNS:
        op.drop_index(f"ix_notice_intents_{column}", table_name="notice_intents")
        op.create_index(f"ix_notice_intents_{column}", "notice_intents", [column])
