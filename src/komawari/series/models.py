"""Class series (the blueprint of a recurring lesson) and group enrolments."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from komawari.db.base import Base, IdMixin, pg_enum
from komawari.scheduling.keys import series_key
from komawari.series.enums import SeriesKind, SeriesStatus

# The series guards' names (komawari.db.guards lists them with their promises).
ACTIVE_PRIVATE_GUARD = "ux_class_series_active_private"
ACTIVE_GROUP_GUARD = "ux_class_series_active_group"
ENROLMENT_GUARD = "ex_series_enrolments_no_overlap"  # one enrolment of a student at a time
BREAK_GUARD = "ex_series_pauses_no_overlapping_breaks"  # a series' open breaks never overlap


class ClassSeries(IdMixin, Base):
    __tablename__ = "class_series"
    __table_args__ = (
        CheckConstraint("end_time > start_time", name="end_after_start"),
        # Weekdays are a bitmask, bit 0 = Monday .. bit 6 = Sunday: one normalised key.
        CheckConstraint("weekdays BETWEEN 1 AND 127", name="weekdays_valid"),
        CheckConstraint("interval_weeks >= 1", name="interval_weeks_positive"),
        CheckConstraint(
            "last_date IS NULL OR last_date >= first_date", name="last_not_before_first"
        ),
        CheckConstraint(
            "(kind = 'PRIVATE' AND student_id IS NOT NULL AND capacity IS NULL)"
            " OR (kind = 'GROUP' AND student_id IS NULL AND capacity IS NOT NULL"
            " AND title IS NOT NULL)",
            name="kind_shape",
        ),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        Index(
            ACTIVE_PRIVATE_GUARD,
            *series_key("PRIVATE"),
            unique=True,
            postgresql_where=text("status = 'ACTIVE' AND kind = 'PRIVATE'"),
            postgresql_nulls_not_distinct=True,
        ),
        Index(
            ACTIVE_GROUP_GUARD,
            *series_key("GROUP"),
            unique=True,
            postgresql_where=text("status = 'ACTIVE' AND kind = 'GROUP'"),
            postgresql_nulls_not_distinct=True,
        ),
        Index(
            "ux_class_series_legacy_id",
            "legacy_id",
            unique=True,
            postgresql_where=text("legacy_id IS NOT NULL"),
        ),
        Index("ix_class_series_status_branch_id", "status", "branch_id"),
    )

    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id"))
    kind: Mapped[SeriesKind] = mapped_column(pg_enum(SeriesKind, "series_kind"))
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id"))
    title: Mapped[str | None] = mapped_column(String(200))
    capacity: Mapped[int | None] = mapped_column(Integer)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"))
    weekdays: Mapped[int] = mapped_column(SmallInteger)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    first_date: Mapped[date] = mapped_column(Date)
    last_date: Mapped[date | None] = mapped_column(Date)
    interval_weeks: Mapped[int] = mapped_column(SmallInteger, server_default="1")
    status: Mapped[SeriesStatus] = mapped_column(
        pg_enum(SeriesStatus, "series_status"), server_default="ACTIVE"
    )
    # Occurrences are materialised through this date; a re-run starts after it.
    generated_through: Mapped[date | None] = mapped_column(Date)
    status_reason: Mapped[str | None] = mapped_column(Text)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("class_series.id"))
    legacy_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class SeriesEnrolment(IdMixin, Base):
    __tablename__ = "series_enrolments"
    __table_args__ = (
        CheckConstraint(
            "until_date IS NULL OR until_date >= from_date", name="until_not_before_from"
        ),
        # One student is enrolled in one series at most once on any day (core GiST
        # operator classes only: the embedded server has no btree_gist).
        ExcludeConstraint(
            (text("int8range(series_id, series_id, '[]')"), "="),
            (text("int8range(student_id, student_id, '[]')"), "="),
            (text("daterange(from_date, until_date, '[]')"), "&&"),
            name=ENROLMENT_GUARD,
            using="gist",
        ),
        Index("ix_series_enrolments_series_id", "series_id"),
    )

    series_id: Mapped[int] = mapped_column(ForeignKey("class_series.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"))
    from_date: Mapped[date] = mapped_column(Date)
    until_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class SeriesPauseRecord(IdMixin, Base):
    """A pause of a series: a break (from a day until a day, inclusive: the series goes on
    by itself after it) or an open pause (no `until_date`: until it is resumed).

    The lessons the pause cancelled point to it (`class_sessions.cancelled_by_pause_id`),
    so that resuming brings back exactly those. Generation makes no lesson on the days of
    a break that is not `ended_at`.
    """

    __tablename__ = "series_pauses"
    __table_args__ = (
        CheckConstraint(
            "until_date IS NULL OR until_date >= from_date", name="until_not_before_from"
        ),
        ExcludeConstraint(
            (text("int8range(series_id, series_id, '[]')"), "="),
            (text("daterange(from_date, until_date, '[]')"), "&&"),
            name=BREAK_GUARD,
            using="gist",
            where=text("ended_at IS NULL AND until_date IS NOT NULL"),
        ),
        Index("ix_series_pauses_series_id", "series_id"),
    )

    series_id: Mapped[int] = mapped_column(ForeignKey("class_series.id", ondelete="CASCADE"))
    from_date: Mapped[date] = mapped_column(Date)
    until_date: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    ended_at: Mapped[datetime | None] = mapped_column()
