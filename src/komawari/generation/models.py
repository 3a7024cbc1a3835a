"""Generation runs: what each materialisation did."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from komawari.db.base import Base, IdMixin, pg_enum
from komawari.generation.enums import RunStatus, RunTrigger


class GenerationRun(IdMixin, Base):
    __tablename__ = "generation_runs"
    __table_args__ = (Index("ix_generation_runs_started_at", "started_at"),)

    trigger: Mapped[RunTrigger] = mapped_column(pg_enum(RunTrigger, "run_trigger"))
    status: Mapped[RunStatus] = mapped_column(
        pg_enum(RunStatus, "run_status"), server_default="running"
    )
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"))
    series_id: Mapped[int | None] = mapped_column(ForeignKey("class_series.id"))
    through_date: Mapped[date | None] = mapped_column(Date)
    started_at: Mapped[datetime] = mapped_column(server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column()
    created: Mapped[int] = mapped_column(BigInteger, server_default="0")
    skipped_existing: Mapped[int] = mapped_column(BigInteger, server_default="0")
    skipped_duplicate: Mapped[int] = mapped_column(BigInteger, server_default="0")
    skipped_closed: Mapped[int] = mapped_column(BigInteger, server_default="0")
    skipped_paused: Mapped[int] = mapped_column(BigInteger, server_default="0")
    conflicted: Mapped[int] = mapped_column(BigInteger, server_default="0")
    series_done: Mapped[int] = mapped_column(Integer, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str | None] = mapped_column(String(255))
