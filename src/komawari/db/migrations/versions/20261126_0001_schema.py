"""The whole schema: tables, guards, and the local-time-to-instant function.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 09:56:20.622668
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The one place a branch's wall-clock date and time become an instant (docs/architecture.md, "Time"):
# a time in a spring-forward gap is read with the offset before the gap (RFC 5545 3.3.5,
# 02:30 becomes 03:30); a repeated time means the first (PEP 495 fold=0). PostgreSQL's own
# AT TIME ZONE picks the second for repeated times, hence this function. It assumes no two
# offset changes within 26 hours, true of every zone in use. Mirrored, and tested to agree,
# by komawari.scheduling.timerules.local_instant.
LOCAL_INSTANT_SQL = """
CREATE OR REPLACE FUNCTION komawari_local_instant(d date, t time, tz text) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  l timestamp := d + t;
  ob interval := (l - interval '26 hours')
                 - (((l - interval '26 hours') AT TIME ZONE tz) AT TIME ZONE 'UTC');
  oa interval := (l + interval '26 hours')
                 - (((l + interval '26 hours') AT TIME ZONE tz) AT TIME ZONE 'UTC');
BEGIN
  IF ob = oa OR ((l - ob) AT TIME ZONE 'UTC') AT TIME ZONE tz = l THEN
    RETURN (l - ob) AT TIME ZONE 'UTC';
  ELSIF ((l - oa) AT TIME ZONE 'UTC') AT TIME ZONE tz = l THEN
    RETURN (l - oa) AT TIME ZONE 'UTC';
  END IF;
  RETURN (l - ob) AT TIME ZONE 'UTC';
END $$;
"""


def upgrade() -> None:
    op.execute(LOCAL_INSTANT_SQL)
    op.create_table(
        "audit_events",
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor_type", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.BigInteger(), nullable=True),
        sa.Column("branch_id", sa.BigInteger(), nullable=True),
        sa.Column("series_id", sa.BigInteger(), nullable=True),
        sa.Column("occurrence_date", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("repair_id", sa.Uuid(), nullable=True),
        sa.Column(
            "details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_action_at", "audit_events", ["action", "at"], unique=False)
    op.create_index("ix_audit_events_repair_id", "audit_events", ["repair_id"], unique=False)
    op.create_index("ix_audit_events_run_id", "audit_events", ["run_id"], unique=False)
    op.create_index(
        "ix_audit_events_subject", "audit_events", ["subject_type", "subject_id"], unique=False
    )
    op.create_table(
        "branches",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("time_zone", sa.String(length=64), server_default="Asia/Tokyo", nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("length(btrim(name)) > 0", name=op.f("ck_branches_name_not_blank")),
        sa.CheckConstraint("length(time_zone) > 0", name=op.f("ck_branches_time_zone_not_blank")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_branches")),
        sa.UniqueConstraint("id", "time_zone", name=op.f("uq_branches_id_time_zone")),
        sa.UniqueConstraint("name", name=op.f("uq_branches_name")),
    )
    op.create_table(
        "calendar_feeds",
        sa.Column("owner_type", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("key_hash", sa.String(length=128), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "owner_type IN ('teacher', 'student')", name=op.f("ck_calendar_feeds_owner_type_valid")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint(
            "owner_type", "owner_id", name=op.f("uq_calendar_feeds_owner_type_owner_id")
        ),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("scope", "key", name=op.f("uq_idempotency_keys_scope_key")),
    )
    op.create_table(
        "students",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("length(btrim(name)) > 0", name=op.f("ck_students_name_not_blank")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_students")),
        sa.UniqueConstraint("name", name=op.f("uq_students_name")),
    )
    op.create_table(
        "teachers",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("length(btrim(name)) > 0", name=op.f("ck_teachers_name_not_blank")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teachers")),
        sa.UniqueConstraint("name", name=op.f("uq_teachers_name")),
    )
    op.create_table(
        "branch_closures",
        sa.Column("branch_id", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["branch_id"],
            ["branches.id"],
            name=op.f("fk_branch_closures_branch_id_branches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_branch_closures")),
        sa.UniqueConstraint("branch_id", "date", name=op.f("uq_branch_closures_branch_id_date")),
    )
    op.create_table(
        "rooms",
        sa.Column("branch_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("capacity > 0", name=op.f("ck_rooms_capacity_positive")),
        sa.CheckConstraint("length(btrim(name)) > 0", name=op.f("ck_rooms_name_not_blank")),
        sa.ForeignKeyConstraint(
            ["branch_id"],
            ["branches.id"],
            name=op.f("fk_rooms_branch_id_branches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rooms")),
        sa.UniqueConstraint("branch_id", "name", name=op.f("uq_rooms_branch_id_name")),
    )
    op.create_table(
        "users",
        sa.Column("username", sa.String(length=150), nullable=False),
        sa.Column("role", sa.Enum("admin", "staff", "teacher", name="user_role"), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("teacher_id", sa.BigInteger(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "role <> 'teacher' OR teacher_id IS NOT NULL", name=op.f("ck_users_teacher_has_teacher")
        ),
        sa.ForeignKeyConstraint(
            ["teacher_id"], ["teachers.id"], name=op.f("fk_users_teacher_id_teachers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=150), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=128), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_table(
        "class_series",
        sa.Column("branch_id", sa.BigInteger(), nullable=False),
        sa.Column("teacher_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Enum("PRIVATE", "GROUP", name="series_kind"), nullable=False),
        sa.Column("student_id", sa.BigInteger(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("room_id", sa.BigInteger(), nullable=True),
        sa.Column("weekdays", sa.SmallInteger(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("first_date", sa.Date(), nullable=False),
        sa.Column("last_date", sa.Date(), nullable=True),
        sa.Column("interval_weeks", sa.SmallInteger(), server_default="1", nullable=False),
        sa.Column(
            "status",
            sa.Enum("ACTIVE", "PAUSED", "ENDED", name="series_status"),
            server_default="ACTIVE",
            nullable=False,
        ),
        sa.Column("generated_through", sa.Date(), nullable=True),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("duplicate_of_id", sa.BigInteger(), nullable=True),
        sa.Column("legacy_id", sa.String(length=100), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "(kind = 'PRIVATE' AND student_id IS NOT NULL AND capacity IS NULL) OR (kind = 'GROUP' AND student_id IS NULL AND capacity IS NOT NULL AND title IS NOT NULL)",
            name=op.f("ck_class_series_kind_shape"),
        ),
        sa.CheckConstraint(
            "capacity IS NULL OR capacity > 0", name=op.f("ck_class_series_capacity_positive")
        ),
        sa.CheckConstraint("end_time > start_time", name=op.f("ck_class_series_end_after_start")),
        sa.CheckConstraint(
            "interval_weeks >= 1", name=op.f("ck_class_series_interval_weeks_positive")
        ),
        sa.CheckConstraint(
            "last_date IS NULL OR last_date >= first_date",
            name=op.f("ck_class_series_last_not_before_first"),
        ),
        sa.CheckConstraint(
            "weekdays BETWEEN 1 AND 127", name=op.f("ck_class_series_weekdays_valid")
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branches.id"], name=op.f("fk_class_series_branch_id_branches")
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"],
            ["class_series.id"],
            name=op.f("fk_class_series_duplicate_of_id_class_series"),
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_class_series_room_id_rooms")
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.id"], name=op.f("fk_class_series_student_id_students")
        ),
        sa.ForeignKeyConstraint(
            ["teacher_id"], ["teachers.id"], name=op.f("fk_class_series_teacher_id_teachers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_class_series")),
    )
    op.create_index(
        "ix_class_series_status_branch_id", "class_series", ["status", "branch_id"], unique=False
    )
    op.create_index(
        "ux_class_series_active_group",
        "class_series",
        ["branch_id", "teacher_id", "title", "start_time", "end_time", "weekdays"],
        unique=True,
        postgresql_where=sa.text("status = 'ACTIVE' AND kind = 'GROUP'"),
        postgresql_nulls_not_distinct=True,
    )
    op.create_index(
        "ux_class_series_active_private",
        "class_series",
        ["branch_id", "teacher_id", "student_id", "start_time", "end_time", "weekdays"],
        unique=True,
        postgresql_where=sa.text("status = 'ACTIVE' AND kind = 'PRIVATE'"),
        postgresql_nulls_not_distinct=True,
    )
    op.create_index(
        "ux_class_series_legacy_id",
        "class_series",
        ["legacy_id"],
        unique=True,
        postgresql_where=sa.text("legacy_id IS NOT NULL"),
    )
    op.create_table(
        "user_branches",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("branch_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["branch_id"],
            ["branches.id"],
            name=op.f("fk_user_branches_branch_id_branches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_branches_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "branch_id", name=op.f("pk_user_branches")),
    )
    op.create_table(
        "class_sessions",
        sa.Column("branch_id", sa.BigInteger(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("series_id", sa.BigInteger(), nullable=True),
        sa.Column("original_date", sa.Date(), nullable=True),
        sa.Column("kind", sa.Enum("PRIVATE", "GROUP", name="series_kind"), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column(
            "starts_at",
            sa.DateTime(timezone=True),
            sa.Computed("komawari_local_instant(date, start_time, time_zone)", persisted=True),
            nullable=False,
        ),
        sa.Column(
            "ends_at",
            sa.DateTime(timezone=True),
            sa.Computed("komawari_local_instant(date, end_time, time_zone)", persisted=True),
            nullable=False,
        ),
        sa.Column("teacher_id", sa.BigInteger(), nullable=False),
        sa.Column("student_id", sa.BigInteger(), nullable=True),
        sa.Column("room_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("CONFIRMED", "CONFLICTED", "CANCELLED", name="session_status"),
            server_default="CONFIRMED",
            nullable=False,
        ),
        sa.Column(
            "conflicts_with",
            postgresql.ARRAY(sa.BigInteger()),
            server_default=sa.text("'{}'::bigint[]"),
            nullable=False,
        ),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duplicate_of_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "attendance",
            sa.Enum("PRESENT", "ABSENT", "LATE", "EXCUSED", name="attendance"),
            nullable=True,
        ),
        sa.Column("legacy_id", sa.String(length=100), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("statement_timestamp()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "(kind = 'PRIVATE') = (student_id IS NOT NULL)",
            name=op.f("ck_class_sessions_private_has_student"),
        ),
        sa.CheckConstraint(
            "(status = 'CANCELLED') = (cancel_reason IS NOT NULL)",
            name=op.f("ck_class_sessions_cancel_has_reason"),
        ),
        sa.CheckConstraint(
            "series_id IS NULL OR original_date IS NOT NULL OR (status = 'CANCELLED' AND duplicate_of_id IS NOT NULL)",
            name=op.f("ck_class_sessions_series_has_original_date"),
        ),
        sa.CheckConstraint(
            "status = 'CONFLICTED' OR cardinality(conflicts_with) = 0",
            name=op.f("ck_class_sessions_conflicts_only_when_conflicted"),
        ),
        sa.CheckConstraint(
            "duplicate_of_id IS NULL OR duplicate_of_id <> id",
            name=op.f("ck_class_sessions_not_own_duplicate"),
        ),
        sa.CheckConstraint("end_time > start_time", name=op.f("ck_class_sessions_end_after_start")),
        sa.CheckConstraint(
            "original_date IS NULL OR series_id IS NOT NULL",
            name=op.f("ck_class_sessions_original_needs_series"),
        ),
        sa.ForeignKeyConstraint(
            ["branch_id", "time_zone"],
            ["branches.id", "branches.time_zone"],
            name="fk_class_sessions_branch_zone",
            onupdate="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"],
            ["class_sessions.id"],
            name=op.f("fk_class_sessions_duplicate_of_id_class_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_class_sessions_room_id_rooms")
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["class_series.id"],
            name=op.f("fk_class_sessions_series_id_class_series"),
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.id"], name=op.f("fk_class_sessions_student_id_students")
        ),
        sa.ForeignKeyConstraint(
            ["teacher_id"], ["teachers.id"], name=op.f("fk_class_sessions_teacher_id_teachers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_class_sessions")),
        sa.UniqueConstraint("series_id", "original_date", name="uq_class_sessions_occurrence"),
    )
    op.create_index(
        "ix_class_sessions_branch_id_date", "class_sessions", ["branch_id", "date"], unique=False
    )
    op.create_index("ix_class_sessions_date", "class_sessions", ["date"], unique=False)
    op.create_index(
        "ix_class_sessions_duplicate_of_id", "class_sessions", ["duplicate_of_id"], unique=False
    )
    op.create_index(
        "ix_class_sessions_room_id_starts_at",
        "class_sessions",
        ["room_id", "starts_at"],
        unique=False,
    )
    op.create_index(
        "ix_class_sessions_student_id_starts_at",
        "class_sessions",
        ["student_id", "starts_at"],
        unique=False,
    )
    op.create_index(
        "ix_class_sessions_teacher_id_starts_at",
        "class_sessions",
        ["teacher_id", "starts_at"],
        unique=False,
    )
    op.create_index(
        "ux_class_sessions_legacy_id",
        "class_sessions",
        ["legacy_id"],
        unique=True,
        postgresql_where=sa.text("legacy_id IS NOT NULL"),
    )
    op.create_index(
        "ux_class_sessions_unique_1on1",
        "class_sessions",
        ["date", "start_time", "end_time", "teacher_id", "student_id"],
        unique=True,
        postgresql_where=sa.text("status <> 'CANCELLED' AND kind = 'PRIVATE'"),
        postgresql_nulls_not_distinct=True,
    )
    op.create_table(
        "generation_runs",
        sa.Column(
            "trigger",
            sa.Enum("schedule", "cli", "extend", "api", "import", "lifecycle", name="run_trigger"),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum("running", "succeeded", "failed", "abandoned", name="run_status"),
            server_default="running",
            nullable=False,
        ),
        sa.Column("branch_id", sa.BigInteger(), nullable=True),
        sa.Column("series_id", sa.BigInteger(), nullable=True),
        sa.Column("through_date", sa.Date(), nullable=True),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("skipped_existing", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("skipped_duplicate", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("skipped_closed", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("skipped_paused", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("conflicted", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("series_done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branches.id"], name=op.f("fk_generation_runs_branch_id_branches")
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["class_series.id"],
            name=op.f("fk_generation_runs_series_id_class_series"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_generation_runs")),
    )
    op.create_index(
        "ix_generation_runs_started_at", "generation_runs", ["started_at"], unique=False
    )
    op.create_table(
        "series_enrolments",
        sa.Column("series_id", sa.BigInteger(), nullable=False),
        sa.Column("student_id", sa.BigInteger(), nullable=False),
        sa.Column("from_date", sa.Date(), nullable=False),
        sa.Column("until_date", sa.Date(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        postgresql.ExcludeConstraint(
            (sa.text("int8range(series_id, series_id, '[]')"), "="),
            (sa.text("int8range(student_id, student_id, '[]')"), "="),
            (sa.text("daterange(from_date, until_date, '[]')"), "&&"),
            using="gist",
            name="ex_series_enrolments_no_overlap",
        ),
        sa.CheckConstraint(
            "until_date IS NULL OR until_date >= from_date",
            name=op.f("ck_series_enrolments_until_not_before_from"),
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["class_series.id"],
            name=op.f("fk_series_enrolments_series_id_class_series"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.id"], name=op.f("fk_series_enrolments_student_id_students")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_series_enrolments")),
    )
    op.create_index(
        "ix_series_enrolments_series_id", "series_enrolments", ["series_id"], unique=False
    )
    op.create_table(
        "session_attendees",
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("student_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "attendance",
            sa.Enum("PRESENT", "ABSENT", "LATE", "EXCUSED", name="attendance"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["class_sessions.id"],
            name=op.f("fk_session_attendees_session_id_class_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.id"], name=op.f("fk_session_attendees_student_id_students")
        ),
        sa.PrimaryKeyConstraint("session_id", "student_id", name=op.f("pk_session_attendees")),
    )
    op.create_index(
        "ix_session_attendees_student_id", "session_attendees", ["student_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_session_attendees_student_id", table_name="session_attendees")
    op.drop_table("session_attendees")
    op.drop_index("ix_series_enrolments_series_id", table_name="series_enrolments")
    op.drop_table("series_enrolments")
    op.drop_index("ix_generation_runs_started_at", table_name="generation_runs")
    op.drop_table("generation_runs")
    op.drop_index(
        "ux_class_sessions_unique_1on1",
        table_name="class_sessions",
        postgresql_where=sa.text("status <> 'CANCELLED' AND kind = 'PRIVATE'"),
        postgresql_nulls_not_distinct=True,
    )
    op.drop_index(
        "ux_class_sessions_legacy_id",
        table_name="class_sessions",
        postgresql_where=sa.text("legacy_id IS NOT NULL"),
    )
    op.drop_index("ix_class_sessions_teacher_id_starts_at", table_name="class_sessions")
    op.drop_index("ix_class_sessions_student_id_starts_at", table_name="class_sessions")
    op.drop_index("ix_class_sessions_room_id_starts_at", table_name="class_sessions")
    op.drop_index("ix_class_sessions_duplicate_of_id", table_name="class_sessions")
    op.drop_index("ix_class_sessions_date", table_name="class_sessions")
    op.drop_index("ix_class_sessions_branch_id_date", table_name="class_sessions")
    op.drop_table("class_sessions")
    op.drop_table("user_branches")
    op.drop_index(
        "ux_class_series_legacy_id",
        table_name="class_series",
        postgresql_where=sa.text("legacy_id IS NOT NULL"),
    )
    op.drop_index(
        "ux_class_series_active_private",
        table_name="class_series",
        postgresql_where=sa.text("status = 'ACTIVE' AND kind = 'PRIVATE'"),
        postgresql_nulls_not_distinct=True,
    )
    op.drop_index(
        "ux_class_series_active_group",
        table_name="class_series",
        postgresql_where=sa.text("status = 'ACTIVE' AND kind = 'GROUP'"),
        postgresql_nulls_not_distinct=True,
    )
    op.drop_index("ix_class_series_status_branch_id", table_name="class_series")
    op.drop_table("class_series")
    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_table("rooms")
    op.drop_table("branch_closures")
    op.drop_table("teachers")
    op.drop_table("students")
    op.drop_table("idempotency_keys")
    op.drop_table("calendar_feeds")
    op.drop_table("branches")
    op.drop_index("ix_audit_events_subject", table_name="audit_events")
    op.drop_index("ix_audit_events_run_id", table_name="audit_events")
    op.drop_index("ix_audit_events_repair_id", table_name="audit_events")
    op.drop_index("ix_audit_events_action_at", table_name="audit_events")
    op.drop_table("audit_events")
    op.execute("DROP FUNCTION komawari_local_instant(date, time, text)")
    for name in (
        "user_role",
        "series_kind",
        "series_status",
        "session_status",
        "attendance",
        "run_trigger",
        "run_status",
    ):
        op.execute(f"DROP TYPE IF EXISTS {name}")
