"""Class sessions (dated lesson rows) and the attendees of group sessions."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from komawari.db.base import Base, IdMixin, pg_enum
from komawari.scheduling.keys import LESSON_KEY, OCCURRENCE_KEY
from komawari.series.enums import SeriesKind
from komawari.sessions.enums import Attendance, SessionStatus

# The one place instants are derived: komawari_local_instant() (see the first migration),
# mirrored by komawari.scheduling.timerules.local_instant and tested to agree.
STARTS_AT_SQL = "komawari_local_instant(date, start_time, time_zone)"
ENDS_AT_SQL = "komawari_local_instant(date, end_time, time_zone)"


# The guards' names: said here, where each guard is defined, and imported wherever a
# refusal is recognised (komawari.db.guards lists them with their promises).
OCCURRENCE_GUARD = "uq_class_sessions_occurrence"
UNIQUE_1ON1 = "ux_class_sessions_unique_1on1"


class ClassSession(IdMixin, Base):
    __tablename__ = "class_sessions"
    __table_args__ = (
        # Promise 2: an occurrence is materialised at most once, whatever its status.
        UniqueConstraint(*OCCURRENCE_KEY, name=OCCURRENCE_GUARD),
        # Promise 1: one non-cancelled private lesson per (date, start, end, teacher, student).
        Index(
            UNIQUE_1ON1,
            *LESSON_KEY,
            unique=True,
            postgresql_where=text("status <> 'CANCELLED' AND kind = 'PRIVATE'"),
            postgresql_nulls_not_distinct=True,
        ),
        ForeignKeyConstraint(
            ["branch_id", "time_zone"],
            ["branches.id", "branches.time_zone"],
            name="fk_class_sessions_branch_zone",
            onupdate="CASCADE",
        ),
        CheckConstraint("end_time > start_time", name="end_after_start"),
        CheckConstraint(
            "(kind = 'PRIVATE') = (student_id IS NOT NULL)", name="private_has_student"
        ),
        CheckConstraint(
            "original_date IS NULL OR series_id IS NOT NULL", name="original_needs_series"
        ),
        CheckConstraint(
            "series_id IS NULL OR original_date IS NOT NULL"
            " OR (status = 'CANCELLED' AND duplicate_of_id IS NOT NULL)",
            name="series_has_original_date",
        ),
        CheckConstraint(
            "(status = 'CANCELLED') = (cancel_reason IS NOT NULL)", name="cancel_has_reason"
        ),
        CheckConstraint(
            "duplicate_of_id IS NULL OR duplicate_of_id <> id", name="not_own_duplicate"
        ),
        CheckConstraint(
            "substitute_for_id IS NULL OR substitute_for_id <> teacher_id",
            name="substitute_is_another_teacher",
        ),
        CheckConstraint(
            "cancelled_by_pause_id IS NULL OR status = 'CANCELLED'",
            name="pause_cancelled_only",
        ),
        CheckConstraint(
            "status = 'CONFLICTED' OR cardinality(conflicts_with) = 0",
            name="conflicts_only_when_conflicted",
        ),
        # Conflict lookups probe a resource over a window of instants (see reevaluate.py).
        # Columns that are mostly NULL (group lessons have no student_id, many lessons no
        # room, few rows are duplicates) are indexed only where set: every lookup is by
        # equality, and a row without the value costs no index upkeep.
        Index("ix_class_sessions_teacher_id_starts_at", "teacher_id", "starts_at"),
        Index(
            "ix_class_sessions_student_id_starts_at",
            "student_id",
            "starts_at",
            postgresql_where=text("student_id IS NOT NULL"),
        ),
        Index(
            "ix_class_sessions_room_id_starts_at",
            "room_id",
            "starts_at",
            postgresql_where=text("room_id IS NOT NULL"),
        ),
        Index("ix_class_sessions_branch_id_date", "branch_id", "date"),
        Index("ix_class_sessions_date", "date"),
        # The few rows that name conflicts, by date: who clashes with a day (0006).
        Index(
            "ix_class_sessions_conflicted_date",
            "date",
            postgresql_where=text("cardinality(conflicts_with) > 0"),
        ),
        Index(
            "ix_class_sessions_substitute_for_id",
            "substitute_for_id",
            postgresql_where=text("substitute_for_id IS NOT NULL"),
        ),
        Index(
            "ix_class_sessions_cancelled_by_pause_id",
            "cancelled_by_pause_id",
            postgresql_where=text("cancelled_by_pause_id IS NOT NULL"),
        ),
        Index(
            "ix_class_sessions_duplicate_of_id",
            "duplicate_of_id",
            postgresql_where=text("duplicate_of_id IS NOT NULL"),
        ),
        Index(
            "ux_class_sessions_legacy_id",
            "legacy_id",
            unique=True,
            postgresql_where=text("legacy_id IS NOT NULL"),
        ),
    )

    branch_id: Mapped[int] = mapped_column(BigInteger)
    time_zone: Mapped[str] = mapped_column(String(64))
    series_id: Mapped[int | None] = mapped_column(ForeignKey("class_series.id"))
    original_date: Mapped[date | None] = mapped_column(Date)
    kind: Mapped[SeriesKind] = mapped_column(pg_enum(SeriesKind, "series_kind"))
    title: Mapped[str | None] = mapped_column(String(200))
    date: Mapped[date] = mapped_column(Date)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    starts_at: Mapped[datetime] = mapped_column(Computed(STARTS_AT_SQL, persisted=True))
    ends_at: Mapped[datetime] = mapped_column(Computed(ENDS_AT_SQL, persisted=True))
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id"))
    # A substitute teaches this lesson (teacher_id) in place of this teacher, its own.
    substitute_for_id: Mapped[int | None] = mapped_column(ForeignKey("teachers.id"))
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"))
    status: Mapped[SessionStatus] = mapped_column(
        pg_enum(SessionStatus, "session_status"), server_default="CONFIRMED"
    )
    conflicts_with: Mapped[list[int]] = mapped_column(
        ARRAY(BigInteger), server_default=text("'{}'::bigint[]")
    )
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # The office's note on this lesson ("bring the mock exam"); None: no note.
    note: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None] = mapped_column()
    # The pause (or break) of its series that cancelled it: resuming brings it back.
    cancelled_by_pause_id: Mapped[int | None] = mapped_column(ForeignKey("series_pauses.id"))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("class_sessions.id"))
    attendance: Mapped[Attendance | None] = mapped_column(pg_enum(Attendance, "attendance"))
    legacy_id: Mapped[str | None] = mapped_column(String(100))
    # Bumped by PostgreSQL (a trigger) when what a family or teacher is told of changes:
    # status, day, time, teacher, room. A notice intent is keyed by it.
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    # Booking time decides conflicts (earliest booked wins). statement_timestamp() is
    # taken by the inserting statement, under the resource locks, so booking order is
    # commit order among writers; now() would be the transaction's start.
    created_at: Mapped[datetime] = mapped_column(server_default=func.statement_timestamp())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class SessionAttendee(Base):
    __tablename__ = "session_attendees"
    __table_args__ = (
        PrimaryKeyConstraint("session_id", "student_id"),
        Index("ix_session_attendees_student_id", "student_id"),
    )

    session_id: Mapped[int] = mapped_column(ForeignKey("class_sessions.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"))
    attendance: Mapped[Attendance | None] = mapped_column(pg_enum(Attendance, "attendance"))
