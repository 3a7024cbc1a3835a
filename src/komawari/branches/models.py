"""Branches (school sites, each with a time zone) and their closure days."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from komawari.db.base import Base, CreatedMixin, IdMixin


class Branch(IdMixin, CreatedMixin, Base):
    __tablename__ = "branches"
    __table_args__ = (
        UniqueConstraint("name"),
        # Sessions copy the zone through a composite foreign key (ON UPDATE CASCADE),
        # so a branch's zone and its sessions' derived instants never disagree.
        UniqueConstraint("id", "time_zone"),
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
        CheckConstraint("length(time_zone) > 0", name="time_zone_not_blank"),
    )

    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64), server_default="Asia/Tokyo")
    # Closed on Japan's national holidays: each is a closure (holiday=True) two years ahead.
    closed_on_holidays: Mapped[bool] = mapped_column(server_default="false")
    # When the day-before reminders go out, in the branch's zone.
    reminder_time: Mapped[time] = mapped_column(Time, server_default="18:00")


CLOSURE_GUARD = "uq_branch_closures_branch_id_date"  # a branch is closed on a day once


class BranchClosure(IdMixin, Base):
    __tablename__ = "branch_closures"
    __table_args__ = (UniqueConstraint("branch_id", "date", name=CLOSURE_GUARD),)

    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, server_default="")
    # Made by the branch's "closed on national holidays" setting (which removes it again).
    holiday: Mapped[bool] = mapped_column(server_default="false")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


PERIOD_GUARD = "uq_branch_periods_branch_id_name"  # a period's name is unique at its branch


class BranchPeriod(IdMixin, Base):
    """One of a branch's fixed periods (コマ: "1限" 16:00-17:20), offered by the forms as
    one choice; free times stay possible."""

    __tablename__ = "branch_periods"
    __table_args__ = (
        UniqueConstraint("branch_id", "name", name=PERIOD_GUARD),
        CheckConstraint("end_time > start_time", name="end_after_start"),
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
    )

    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(50))
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)


class BranchVersion(Base):
    """How many schedule writes each branch has had (the ETags), kept by triggers.

    Branch 0 counts the changes every branch shows (teachers' and students' names). Each
    writer bumps its own slot (its backend's pid modulo SLOTS), so writers of one branch
    do not wait on one row until commit; the sum over slots only ever grows.
    """

    __tablename__ = "branch_versions"

    branch_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    changes: Mapped[int] = mapped_column(BigInteger, server_default="0")
