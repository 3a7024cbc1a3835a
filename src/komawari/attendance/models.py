"""Attendance marks, make-up credits, and the append-only ledger of their entries.

The ledger's promises are PostgreSQL's to keep, whatever path writes and however often:
- one credit per (student, absent lesson): `uq_credits_student_id_absence_session_id`;
- one issue entry per credit, one end (expire or revoke) per credit;
- each use of a credit has its number (1, 2, ... after releases), unique per credit, so
  two bookings that both saw the credit free cannot both use it;
- entries are never updated or deleted (a trigger refuses it): a balance is the sum of
  entries, never a stored counter.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from komawari.attendance.enums import AttendanceState, EntryKind
from komawari.db.base import Base, IdMixin, pg_enum

ISSUE_GUARD = "ux_credit_entries_one_issue"
USE_GUARD = "ux_credit_entries_use_no"
RELEASE_GUARD = "ux_credit_entries_release_no"
END_GUARD = "ux_credit_entries_one_end"
CREDIT_GUARD = "uq_credits_student_id_absence_session_id"


class AttendanceMark(IdMixin, Base):
    """A student's attendance at one lesson (corrections rewrite it; the audit keeps each)."""

    __tablename__ = "attendance_marks"
    __table_args__ = (
        UniqueConstraint("session_id", "student_id"),
        Index("ix_attendance_marks_student_id", "student_id"),
    )

    session_id: Mapped[int] = mapped_column(ForeignKey("class_sessions.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"))
    state: Mapped[AttendanceState] = mapped_column(pg_enum(AttendanceState, "attendance_state"))
    notified_at: Mapped[datetime | None] = mapped_column()
    marked_at: Mapped[datetime] = mapped_column(server_default=func.now())
    marked_by: Mapped[str] = mapped_column(String(255))


class Credit(IdMixin, Base):
    """A make-up credit earned by one absence."""

    __tablename__ = "credits"
    __table_args__ = (
        UniqueConstraint("student_id", "absence_session_id"),
        CheckConstraint("expires_on >= absence_date", name="expires_after_absence"),
        Index("ix_credits_branch_id_expires_on", "branch_id", "expires_on"),
    )

    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    absence_session_id: Mapped[int] = mapped_column(ForeignKey("class_sessions.id"))
    absence_date: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    # The policy that issued it (0: the built-in default, docs/glossary.md).
    policy_version: Mapped[int] = mapped_column(Integer, server_default="0")
    issued_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # Set when the attendance that earned it was corrected after it was used: staff decide.
    flagged_at: Mapped[datetime | None] = mapped_column()
    flag_reason: Mapped[str | None] = mapped_column(Text)


class CreditEntry(IdMixin, Base):
    """One line of the ledger; never changed once written."""

    __tablename__ = "credit_entries"
    __table_args__ = (
        CheckConstraint(
            "(kind IN ('issue', 'release') AND amount = 1)"
            " OR (kind IN ('use', 'expire', 'revoke') AND amount = -1)"
            " OR (kind = 'adjust' AND amount <> 0)",
            name="amount_fits_kind",
        ),
        CheckConstraint(
            "(kind IN ('use', 'release')) = (use_no IS NOT NULL)", name="use_no_on_uses"
        ),
        Index(ISSUE_GUARD, "credit_id", unique=True, postgresql_where=text("kind = 'issue'")),
        Index(USE_GUARD, "credit_id", "use_no", unique=True, postgresql_where=text("kind = 'use'")),
        Index(
            RELEASE_GUARD,
            "credit_id",
            "use_no",
            unique=True,
            postgresql_where=text("kind = 'release'"),
        ),
        Index(
            END_GUARD,
            "credit_id",
            unique=True,
            postgresql_where=text("kind IN ('expire', 'revoke')"),
        ),
        Index("ix_credit_entries_session_id", "session_id"),
    )

    credit_id: Mapped[int] = mapped_column(ForeignKey("credits.id"))
    kind: Mapped[EntryKind] = mapped_column(pg_enum(EntryKind, "credit_entry_kind"))
    amount: Mapped[int] = mapped_column(Integer)
    use_no: Mapped[int | None] = mapped_column(Integer)
    # The make-up lesson of a use or a release.
    session_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("class_sessions.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(server_default=func.now())


POLICY_GUARD = "uq_credit_policies_branch_id_lesson_kind_version"


class CreditPolicy(IdMixin, Base):
    """One version of a branch's make-up policy for one kind of lesson (private or group).

    Never changed once written: a change is a new version, which applies to absences from
    lessons that start after it was made; each credit records the version that issued it
    (0: the built-in default, when a branch has none)."""

    __tablename__ = "credit_policies"
    __table_args__ = (
        UniqueConstraint("branch_id", "lesson_kind", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("lesson_kind IN ('PRIVATE', 'GROUP')", name="lesson_kind_valid"),
        CheckConstraint(
            "earning_states <@ ARRAY['absent_notified', 'absent', 'school_cancelled']::text[]",
            name="earning_states_are_absences",
        ),
        CheckConstraint("expiry_days IS NULL OR expiry_days BETWEEN 1 AND 366", name="expiry"),
        CheckConstraint("monthly_cap IS NULL OR monthly_cap >= 0", name="cap_not_negative"),
        CheckConstraint("makeup_seats BETWEEN 0 AND 50", name="makeup_seats_range"),
    )

    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    lesson_kind: Mapped[str] = mapped_column(String(10))
    version: Mapped[int] = mapped_column(Integer)
    # Which attendance states earn a credit (absent_notified needs its notice in time).
    earning_states: Mapped[list[str]] = mapped_column(ARRAY(Text))
    # The notice deadline: NULL, before the lesson starts; else by this local time that day.
    notice_by: Mapped[time | None] = mapped_column(Time)
    # The expiry: NULL, the end of the month after the absence's; else this many days.
    expiry_days: Mapped[int | None] = mapped_column(Integer)
    # At most this many credits per student per month (NULL: no cap).
    monthly_cap: Mapped[int | None] = mapped_column(Integer)
    same_kind_and_length: Mapped[bool] = mapped_column(server_default="true")
    makeup_seats: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(255))


class TeacherAbsence(IdMixin, Base):
    """A lesson's teacher cannot come: the lesson needs a substitute while it is still
    theirs (a substitute given takes it over; the row stays as what happened)."""

    __tablename__ = "teacher_absences"
    __table_args__ = (UniqueConstraint("session_id", "teacher_id"),)

    session_id: Mapped[int] = mapped_column(ForeignKey("class_sessions.id", ondelete="CASCADE"))
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    noted_at: Mapped[datetime] = mapped_column(server_default=func.now())
    noted_by: Mapped[str] = mapped_column(String(255))
