"""Generation runs: what each materialisation did."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, MappedColumn, composite, mapped_column

from komawari.db.base import Base, IdMixin, pg_enum
from komawari.generation.counts import NAMES, RunCounts
from komawari.generation.enums import RunStatus, RunTrigger


def _count_column(name: str) -> MappedColumn[int]:
    # Series are counted in an integer, rows in a bigint (as migration 0001 made them).
    kind = Integer if name == "series_done" else BigInteger
    return mapped_column(name, kind, nullable=False, server_default="0")


def _counts_of(*values: int) -> RunCounts:
    return RunCounts(**dict(zip(NAMES, values, strict=True)))


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
    # One column per count, named as the count; read as one value: `run.counts`.
    counts: Mapped[RunCounts] = composite(_counts_of, *(_count_column(name) for name in NAMES))
    error: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str | None] = mapped_column(String(255))
