"""Notices: contacts, the outbox of notice intents, messages and their deliveries; a
lesson's version; a branch's reminder time.

A lesson change writes its intents in its own transaction, on every path (API, pages,
CLI, closures, breaks): a statement trigger on `class_sessions` compares each changed
row with its old self and writes one intent per (contact, lesson, kind, version), the
unique key refusing a second. A duplicate row (`duplicate_of_id`) tells nobody anything.
`SET LOCAL komawari.notices = 'off'` keeps an operator's bulk work (a backup's restore,
an import) quiet.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 00:24:10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# What a family or a teacher is told of: a lesson's being on or off, its day and time,
# its teacher and its room. A change of any bumps the lesson's version.
TOLD = (
    "(OLD.status = 'CANCELLED') IS DISTINCT FROM (NEW.status = 'CANCELLED')"
    " OR OLD.date IS DISTINCT FROM NEW.date OR OLD.start_time IS DISTINCT FROM NEW.start_time"
    " OR OLD.end_time IS DISTINCT FROM NEW.end_time"
    " OR OLD.teacher_id IS DISTINCT FROM NEW.teacher_id OR OLD.room_id IS DISTINCT FROM NEW.room_id"
)
BUMP = """
CREATE FUNCTION komawari_bump_lesson_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.version := OLD.version + 1;
  RETURN NEW;
END
$$
"""
LIVE = "o.status <> 'CANCELLED' AND n.status <> 'CANCELLED'"
INTENTS = f"""
CREATE FUNCTION komawari_notice_lesson_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('komawari.notices', true), '') = 'off' THEN
    RETURN NULL;
  END IF;
  INSERT INTO notice_intents (contact_id, kind, session_id, version, branch_id, student_id,
                              before)
  WITH changed AS (
    SELECT n.id, n.branch_id, n.version, n.student_id, n.teacher_id,
           o.teacher_id AS old_teacher_id, k.kind,
           jsonb_build_object('date', o.date, 'start', o.start_time, 'end', o.end_time,
                              'teacher_id', o.teacher_id, 'room_id', o.room_id,
                              'cancelled', o.status = 'CANCELLED') AS before
      FROM new_rows n
      JOIN old_rows o ON o.id = n.id
     CROSS JOIN LATERAL (VALUES
       (CASE WHEN o.status <> 'CANCELLED' AND n.status = 'CANCELLED' THEN
               CASE WHEN n.cancelled_by_pause_id IS NOT NULL THEN 'break'
                    WHEN n.cancel_reason = 'branch_closed' THEN 'closure'
                    ELSE 'cancel' END
             WHEN o.status = 'CANCELLED' AND n.status <> 'CANCELLED' THEN 'restore' END),
       (CASE WHEN {LIVE} AND (o.date, o.start_time, o.end_time)
                             IS DISTINCT FROM (n.date, n.start_time, n.end_time)
             THEN 'move' END),
       (CASE WHEN {LIVE} AND o.teacher_id <> n.teacher_id THEN 'substitute' END),
       (CASE WHEN {LIVE} AND o.room_id IS DISTINCT FROM n.room_id THEN 'room' END)
     ) AS k(kind)
     WHERE k.kind IS NOT NULL AND n.duplicate_of_id IS NULL AND o.duplicate_of_id IS NULL
  ), people AS (
    SELECT c.id, c.branch_id, c.version, c.kind, c.before, x.student_id, cs.contact_id
      FROM changed c
      JOIN LATERAL (SELECT c.student_id WHERE c.student_id IS NOT NULL
                    UNION
                    SELECT a.student_id FROM session_attendees a WHERE a.session_id = c.id
                   ) AS x(student_id) ON true
      JOIN contact_students cs ON cs.student_id = x.student_id
    UNION ALL
    SELECT c.id, c.branch_id, c.version, c.kind, c.before, NULL, t.id
      FROM changed c
      JOIN contacts t ON t.teacher_id IN (c.teacher_id, c.old_teacher_id)
  )
  SELECT p.contact_id, CAST(p.kind AS notice_kind), p.id, p.version, p.branch_id,
         p.student_id, p.before
    FROM people p
    JOIN contacts ct ON ct.id = p.contact_id AND ct.active
  ON CONFLICT ON CONSTRAINT uq_notice_intents_key DO NOTHING;
  RETURN NULL;
END
$$
"""  # noqa: S608 - composed from module constants

# A credit issued or used tells the student's contacts (each use has its number: a credit
# released and used again is a second use, a second notice).
CREDITS = """
CREATE FUNCTION komawari_notice_credit_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('komawari.notices', true), '') = 'off' THEN
    RETURN NULL;
  END IF;
  INSERT INTO notice_intents (contact_id, kind, session_id, credit_id, version, branch_id,
                              student_id)
  SELECT cs.contact_id,
         CAST(CASE e.kind WHEN 'issue' THEN 'credit_issued' ELSE 'credit_used' END
              AS notice_kind),
         CASE WHEN e.kind = 'use' THEN e.session_id END, c.id, coalesce(e.use_no, 0),
         c.branch_id, c.student_id
    FROM new_rows e
    JOIN credits c ON c.id = e.credit_id
    JOIN contact_students cs ON cs.student_id = c.student_id
    JOIN contacts ct ON ct.id = cs.contact_id AND ct.active
   WHERE e.kind IN ('issue', 'use')
  ON CONFLICT ON CONSTRAINT uq_notice_intents_key DO NOTHING;
  RETURN NULL;
END
$$
"""
# Absent without notice: an intent for the student's contacts (sent only to those who
# asked for it: the drain's default for this kind is no channel).
ABSENCES = """
CREATE FUNCTION komawari_notice_absences() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('komawari.notices', true), '') = 'off' THEN
    RETURN NULL;
  END IF;
  INSERT INTO notice_intents (contact_id, kind, session_id, version, branch_id, student_id)
  SELECT cs.contact_id, 'absent', m.session_id, 0, s.branch_id, m.student_id
    FROM new_rows m
    JOIN class_sessions s ON s.id = m.session_id
    JOIN contact_students cs ON cs.student_id = m.student_id
    JOIN contacts ct ON ct.id = cs.contact_id AND ct.active
   WHERE m.state = 'absent'
  ON CONFLICT ON CONSTRAINT uq_notice_intents_key DO NOTHING;
  RETURN NULL;
END
$$
"""


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table(
        "notice_channel_state",
        sa.Column("channel", sa.Enum("email", "line", name="notice_channel"), nullable=False),
        sa.Column("paused_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("month", sa.String(length=7), nullable=True),
        sa.Column("sent_this_month", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_notice_channel_state")),
    )
    op.create_table(
        "contacts",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("line_user_id", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=2), server_default="ja", nullable=False),
        sa.Column("teacher_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "preferences",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("quiet_start", sa.Time(), server_default="21:00", nullable=False),
        sa.Column("quiet_end", sa.Time(), server_default="08:00", nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("language IN ('en', 'ja')", name=op.f("ck_contacts_language_known")),
        sa.CheckConstraint("length(btrim(name)) > 0", name=op.f("ck_contacts_name_not_blank")),
        sa.ForeignKeyConstraint(
            ["teacher_id"], ["teachers.id"], name=op.f("fk_contacts_teacher_id_teachers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("line_user_id", name="uq_contacts_line_user_id"),
        sa.UniqueConstraint("teacher_id", name=op.f("uq_contacts_teacher_id")),
    )
    op.create_table(
        "contact_students",
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("student_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "relation",
            sa.Enum(
                "self",
                "mother",
                "father",
                "guardian",
                "grandparent",
                "other",
                name="contact_relation",
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_students_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.id"], name=op.f("fk_contact_students_student_id_students")
        ),
        sa.PrimaryKeyConstraint("contact_id", "student_id", name=op.f("pk_contact_students")),
    )
    op.create_index(
        "ix_contact_students_student_id", "contact_students", ["student_id"], unique=False
    )
    op.create_table(
        "line_link_codes",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_line_link_codes_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_line_link_codes")),
    )
    op.create_table(
        "notice_messages",
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.Enum("email", "line", name="notice_channel"), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("kinds", postgresql.ARRAY(sa.String(length=20)), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "sent", "dead", "held", name="notice_message_status"),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("key", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_notice_messages_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_messages")),
    )
    op.create_index(
        "ix_notice_messages_contact_id", "notice_messages", ["contact_id"], unique=False
    )
    op.create_index(
        "ix_notice_messages_due",
        "notice_messages",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "notice_deliveries",
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["notice_messages.id"],
            name=op.f("fk_notice_deliveries_message_id_notice_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_deliveries")),
    )
    op.create_index(
        "ix_notice_deliveries_message_id", "notice_deliveries", ["message_id"], unique=False
    )
    op.create_table(
        "notice_intents",
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "cancel",
                "move",
                "substitute",
                "room",
                "restore",
                "break",
                "closure",
                "new_series",
                "absent",
                "credit_issued",
                "credit_expiring",
                "credit_used",
                "reminder",
                name="notice_kind",
            ),
            nullable=False,
        ),
        sa.Column("session_id", sa.BigInteger(), nullable=True),
        sa.Column("series_id", sa.BigInteger(), nullable=True),
        sa.Column("credit_id", sa.BigInteger(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="0", nullable=False),
        sa.Column("branch_id", sa.BigInteger(), nullable=False),
        sa.Column("student_id", sa.BigInteger(), nullable=True),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("statement_timestamp()"),
            nullable=False,
        ),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("dropped", sa.String(length=20), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branches.id"], name=op.f("fk_notice_intents_branch_id_branches")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_notice_intents_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["credit_id"], ["credits.id"], name=op.f("fk_notice_intents_credit_id_credits")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["notice_messages.id"],
            name=op.f("fk_notice_intents_message_id_notice_messages"),
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["class_series.id"],
            name=op.f("fk_notice_intents_series_id_class_series"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["class_sessions.id"],
            name=op.f("fk_notice_intents_session_id_class_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.id"], name=op.f("fk_notice_intents_student_id_students")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_intents")),
        sa.UniqueConstraint(
            "contact_id",
            "kind",
            "session_id",
            "series_id",
            "credit_id",
            "version",
            name="uq_notice_intents_key",
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_index("ix_notice_intents_message_id", "notice_intents", ["message_id"], unique=False)
    op.create_index(
        "ix_notice_intents_pending",
        "notice_intents",
        ["contact_id", "created_at"],
        unique=False,
        postgresql_where=sa.text("settled_at IS NULL"),
    )
    op.create_index("ix_notice_intents_session_id", "notice_intents", ["session_id"], unique=False)
    op.add_column(
        "branches", sa.Column("reminder_time", sa.Time(), server_default="18:00", nullable=False)
    )
    op.add_column(
        "class_sessions", sa.Column("version", sa.Integer(), server_default="1", nullable=False)
    )
    # ### end Alembic commands ###
    op.execute(BUMP)
    op.execute(
        "CREATE TRIGGER notice_version BEFORE UPDATE ON class_sessions FOR EACH ROW"
        f" WHEN ({TOLD}) EXECUTE FUNCTION komawari_bump_lesson_version()"
    )
    op.execute(INTENTS)
    op.execute(
        "CREATE TRIGGER notice_intents AFTER UPDATE ON class_sessions"
        " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT"
        " EXECUTE FUNCTION komawari_notice_lesson_changes()"
    )
    op.execute(CREDITS)
    op.execute(
        "CREATE TRIGGER notice_intents AFTER INSERT ON credit_entries"
        " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
        " EXECUTE FUNCTION komawari_notice_credit_entries()"
    )
    op.execute(ABSENCES)
    for event in ("INSERT", "UPDATE"):
        op.execute(
            f"CREATE TRIGGER notice_intents_{event.lower()} AFTER {event} ON attendance_marks"
            " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
            " EXECUTE FUNCTION komawari_notice_absences()"
        )


def downgrade() -> None:
    op.execute("DROP TRIGGER notice_intents_update ON attendance_marks")
    op.execute("DROP TRIGGER notice_intents_insert ON attendance_marks")
    op.execute("DROP TRIGGER notice_intents ON credit_entries")
    op.execute("DROP FUNCTION komawari_notice_absences()")
    op.execute("DROP FUNCTION komawari_notice_credit_entries()")
    op.execute("DROP TRIGGER notice_intents ON class_sessions")
    op.execute("DROP TRIGGER notice_version ON class_sessions")
    op.execute("DROP FUNCTION komawari_notice_lesson_changes()")
    op.execute("DROP FUNCTION komawari_bump_lesson_version()")
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_column("class_sessions", "version")
    op.drop_column("branches", "reminder_time")
    op.drop_index("ix_notice_intents_session_id", table_name="notice_intents")
    op.drop_index(
        "ix_notice_intents_pending",
        table_name="notice_intents",
        postgresql_where=sa.text("settled_at IS NULL"),
    )
    op.drop_index("ix_notice_intents_message_id", table_name="notice_intents")
    op.drop_table("notice_intents")
    op.drop_index("ix_notice_deliveries_message_id", table_name="notice_deliveries")
    op.drop_table("notice_deliveries")
    op.drop_index(
        "ix_notice_messages_due",
        table_name="notice_messages",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index("ix_notice_messages_contact_id", table_name="notice_messages")
    op.drop_table("notice_messages")
    op.drop_table("line_link_codes")
    op.drop_index("ix_contact_students_student_id", table_name="contact_students")
    op.drop_table("contact_students")
    op.drop_table("contacts")
    op.drop_table("notice_channel_state")
    # ### end Alembic commands ###
    for name in ("notice_kind", "notice_channel", "notice_message_status", "contact_relation"):
        op.execute(f"DROP TYPE {name}")
