"""A lesson may be taught by a substitute: `substitute_for_id` names the regular teacher.

A substitute takes one lesson in place of its teacher; the series keeps its teacher. The
lesson's `teacher_id` is who teaches it (conflicts, duplicates and the teacher's week go
by it), and `substitute_for_id` the teacher it replaces, NULL when it is taught by its
own. The index finds a teacher's lessons taken by others (their week shows them).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "class_sessions",
        sa.Column(
            "substitute_for_id",
            sa.BigInteger(),
            sa.ForeignKey("teachers.id", name="fk_class_sessions_substitute_for_id_teachers"),
            nullable=True,
        ),
    )
    op.create_check_constraint(
        op.f("ck_class_sessions_substitute_is_another_teacher"),
        "class_sessions",
        "substitute_for_id IS NULL OR substitute_for_id <> teacher_id",
    )
    op.create_index(
        "ix_class_sessions_substitute_for_id",
        "class_sessions",
        ["substitute_for_id"],
        postgresql_where=sa.text("substitute_for_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_class_sessions_substitute_for_id", table_name="class_sessions")
    op.drop_constraint(op.f("ck_class_sessions_substitute_is_another_teacher"), "class_sessions")
    op.drop_column("class_sessions", "substitute_for_id")
