"""Make-up (振替) policies per branch and kind of lesson, versioned: each version is kept,
applies to absences from lessons that start after it was made, and is named by the
credits it issues.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credit_policies",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("branch_id", sa.BigInteger(), nullable=False),
        sa.Column("lesson_kind", sa.String(length=10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("earning_states", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("notice_by", sa.Time(), nullable=True),
        sa.Column("expiry_days", sa.Integer(), nullable=True),
        sa.Column("monthly_cap", sa.Integer(), nullable=True),
        sa.Column("same_kind_and_length", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("makeup_seats", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_credit_policies_version_positive")),
        sa.CheckConstraint(
            "lesson_kind IN ('PRIVATE', 'GROUP')",
            name=op.f("ck_credit_policies_lesson_kind_valid"),
        ),
        sa.CheckConstraint(
            "earning_states <@ ARRAY['absent_notified', 'absent', 'school_cancelled']::text[]",
            name=op.f("ck_credit_policies_earning_states_are_absences"),
        ),
        sa.CheckConstraint(
            "expiry_days IS NULL OR expiry_days BETWEEN 1 AND 366",
            name=op.f("ck_credit_policies_expiry"),
        ),
        sa.CheckConstraint(
            "monthly_cap IS NULL OR monthly_cap >= 0",
            name=op.f("ck_credit_policies_cap_not_negative"),
        ),
        sa.CheckConstraint(
            "makeup_seats BETWEEN 0 AND 50", name=op.f("ck_credit_policies_makeup_seats_range")
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"],
            ["branches.id"],
            name=op.f("fk_credit_policies_branch_id_branches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_policies")),
        sa.UniqueConstraint(
            "branch_id",
            "lesson_kind",
            "version",
            name=op.f("uq_credit_policies_branch_id_lesson_kind_version"),
        ),
    )


def downgrade() -> None:
    op.drop_table("credit_policies")
