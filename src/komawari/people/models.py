"""Teachers, students and rooms."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from komawari.db.base import Base, CreatedMixin, IdMixin


class Teacher(IdMixin, CreatedMixin, Base):
    __tablename__ = "teachers"
    __table_args__ = (
        UniqueConstraint("name"),
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
    )

    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    # A deactivated person cannot be booked; their lessons stay.
    active: Mapped[bool] = mapped_column(server_default="true")


class Student(IdMixin, CreatedMixin, Base):
    __tablename__ = "students"
    __table_args__ = (
        UniqueConstraint("name"),
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
    )

    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    # A deactivated person cannot be booked; their lessons stay.
    active: Mapped[bool] = mapped_column(server_default="true")


class Room(IdMixin, CreatedMixin, Base):
    __tablename__ = "rooms"
    __table_args__ = (
        UniqueConstraint("branch_id", "name"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
    )

    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    capacity: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(server_default="true")
