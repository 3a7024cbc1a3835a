"""Attendance marks, make-up (振替) credits and their append-only ledger.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = ("present", "late", "left_early", "absent_notified", "absent", "school_cancelled")
KINDS = ("issue", "use", "release", "expire", "revoke", "adjust")

APPEND_ONLY = """
CREATE FUNCTION credit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'credit_entries is append-only: add an entry instead'
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER credit_entries_append_only BEFORE UPDATE OR DELETE ON credit_entries
    FOR EACH ROW EXECUTE FUNCTION credit_entries_append_only();
"""


def upgrade() -> None:
    state = postgresql.ENUM(*STATES, name="attendance_state", create_type=False)
    kind = postgresql.ENUM(*KINDS, name="credit_entry_kind", create_type=False)
    state.create(op.get_bind(), checkfirst=False)
    kind.create(op.get_bind(), checkfirst=False)
    op.create_table(
        "attendance_marks",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("student_id", sa.BigInteger(), nullable=False),
        sa.Column("state", state, nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "marked_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("marked_by", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["class_sessions.id"],
            name=op.f("fk_attendance_marks_session_id_class_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_attendance_marks_student_id_students"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance_marks")),
        sa.UniqueConstraint(
            "session_id", "student_id", name=op.f("uq_attendance_marks_session_id_student_id")
        ),
    )
    op.create_index(
        "ix_attendance_marks_student_id", "attendance_marks", ["student_id"], unique=False
    )
    op.create_table(
        "credits",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("student_id", sa.BigInteger(), nullable=False),
        sa.Column("branch_id", sa.BigInteger(), nullable=False),
        sa.Column("absence_session_id", sa.BigInteger(), nullable=False),
        sa.Column("absence_date", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("policy_version", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "issued_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("flag_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "expires_on >= absence_date", name=op.f("ck_credits_expires_after_absence")
        ),
        sa.ForeignKeyConstraint(
            ["absence_session_id"],
            ["class_sessions.id"],
            name=op.f("fk_credits_absence_session_id_class_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branches.id"], name=op.f("fk_credits_branch_id_branches")
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.id"], name=op.f("fk_credits_student_id_students")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credits")),
        sa.UniqueConstraint(
            "student_id",
            "absence_session_id",
            name=op.f("uq_credits_student_id_absence_session_id"),
        ),
    )
    op.create_index(
        "ix_credits_branch_id_expires_on", "credits", ["branch_id", "expires_on"], unique=False
    )
    op.create_table(
        "credit_entries",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("credit_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", kind, nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("use_no", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint(
            "(kind IN ('issue', 'release') AND amount = 1)"
            " OR (kind IN ('use', 'expire', 'revoke') AND amount = -1)"
            " OR (kind = 'adjust' AND amount <> 0)",
            name=op.f("ck_credit_entries_amount_fits_kind"),
        ),
        sa.CheckConstraint(
            "(kind IN ('use', 'release')) = (use_no IS NOT NULL)",
            name=op.f("ck_credit_entries_use_no_on_uses"),
        ),
        sa.ForeignKeyConstraint(
            ["credit_id"], ["credits.id"], name=op.f("fk_credit_entries_credit_id_credits")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["class_sessions.id"],
            name=op.f("fk_credit_entries_session_id_class_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_entries")),
    )
    op.create_index("ix_credit_entries_session_id", "credit_entries", ["session_id"])
    op.create_index(
        "ux_credit_entries_one_issue",
        "credit_entries",
        ["credit_id"],
        unique=True,
        postgresql_where=sa.text("kind = 'issue'"),
    )
    op.create_index(
        "ux_credit_entries_use_no",
        "credit_entries",
        ["credit_id", "use_no"],
        unique=True,
        postgresql_where=sa.text("kind = 'use'"),
    )
    op.create_index(
        "ux_credit_entries_release_no",
        "credit_entries",
        ["credit_id", "use_no"],
        unique=True,
        postgresql_where=sa.text("kind = 'release'"),
    )
    op.create_index(
        "ux_credit_entries_one_end",
        "credit_entries",
        ["credit_id"],
        unique=True,
        postgresql_where=sa.text("kind IN ('expire', 'revoke')"),
    )
    op.execute(APPEND_ONLY)


def downgrade() -> None:
    op.execute("DROP TRIGGER credit_entries_append_only ON credit_entries")
    op.execute("DROP FUNCTION credit_entries_append_only()")
    op.drop_table("credit_entries")
    op.drop_table("credits")
    op.drop_table("attendance_marks")
    sa.Enum(name="credit_entry_kind").drop(op.get_bind(), checkfirst=False)
    sa.Enum(name="attendance_state").drop(op.get_bind(), checkfirst=False)
