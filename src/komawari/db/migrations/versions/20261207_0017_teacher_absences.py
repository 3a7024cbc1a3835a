"""A lesson's teacher cannot come: `teacher_absences` (one per lesson and teacher); the
lesson needs a substitute while that teacher still has it.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# What a day shows changes with it ("needs a substitute"): bump the lesson's branch's
# counters, as migration 0005 does for the other tables a day shows.
BRANCH = "(SELECT s.branch_id FROM class_sessions s WHERE s.id = r.session_id)"
FUNCTION = f"""
CREATE FUNCTION komawari_versions_teacher_absences() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM komawari_bump_versions(ARRAY(SELECT {BRANCH} FROM new_rows r));
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM komawari_bump_versions(ARRAY(SELECT {BRANCH} FROM new_rows r
                                         UNION ALL SELECT {BRANCH} FROM old_rows r));
  ELSE
    PERFORM komawari_bump_versions(ARRAY(SELECT {BRANCH} FROM old_rows r));
  END IF;
  RETURN NULL;
END
$$
"""  # noqa: S608 - composed from module constants
TABLES = {
    "INSERT": "NEW TABLE AS new_rows",
    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
}


def upgrade() -> None:
    op.create_table(
        "teacher_absences",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("teacher_id", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "noted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("noted_by", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["class_sessions.id"],
            name=op.f("fk_teacher_absences_session_id_class_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["teacher_id"], ["teachers.id"], name=op.f("fk_teacher_absences_teacher_id_teachers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teacher_absences")),
        sa.UniqueConstraint(
            "session_id", "teacher_id", name=op.f("uq_teacher_absences_session_id_teacher_id")
        ),
    )
    op.execute(FUNCTION)
    for event, tables in TABLES.items():
        op.execute(
            f"CREATE TRIGGER versions_{event.lower()} AFTER {event} ON teacher_absences"
            f" REFERENCING {tables} FOR EACH STATEMENT"
            " EXECUTE FUNCTION komawari_versions_teacher_absences()"
        )


def downgrade() -> None:
    op.drop_table("teacher_absences")  # its triggers go with it
    op.execute("DROP FUNCTION komawari_versions_teacher_absences()")
