"""The doctor: the incident's evidence queries, built in, read-only.

A *problem* is something only a repair fixes: excess duplicate lessons, an occurrence held
by several rows, ACTIVE series that duplicate each other, a guard missing or invalid, a
live session on a closure day. CONFLICTED sessions and future sessions of PAUSED or ENDED
series are reported too, but they are legitimate states (double bookings are shown for
staff to resolve; pausing may keep booked lessons), so they do not make the doctor fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from komawari.db import guards
from komawari.ops.sql import evidence as q
from komawari.scheduling.weekdays import mask_names


@dataclass
class DateCount:
    """Live sessions of one date: total, unique, excess duplicates, and by status."""

    total: int
    excess: int
    confirmed: int
    conflicted: int

    @property
    def unique(self) -> int:
        """Return the live sessions that are not excess copies."""
        return self.total - self.excess


@dataclass
class LessonGroup:
    """One lesson held by several live rows (the worst groups of the incident)."""

    date: date
    start_time: time
    end_time: time
    teacher_id: int
    teacher: str
    student_id: int
    student: str
    copies: int
    confirmed: int
    conflicted: int
    series_ids: list[int]
    one_offs: int


@dataclass
class SeriesGroup:
    """ACTIVE series sharing one key; the first id is the earliest created (the keeper)."""

    branch: str
    teacher: str
    party: str
    start_time: time
    end_time: time
    weekdays: int
    ids: list[int]


@dataclass
class Counts:
    """The duplicates a guard would refuse: what must be repaired before `guards on`."""

    lesson_excess: int
    occurrence_excess: int
    duplicate_active: int

    @property
    def any(self) -> bool:
        """Return whether any guard would be refused."""
        return bool(self.lesson_excess or self.occurrence_excess or self.duplicate_active)


@dataclass
class Diagnosis:
    """Everything the doctor found."""

    on_date: date | None
    by_date: dict[date, DateCount]
    worst: list[LessonGroup]
    series_groups: list[SeriesGroup]
    occurrence_excess: int
    conflicted: int
    future_of_inactive: dict[str, int]
    on_closure_days: int
    guards: dict[str, str]
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Return the live sessions counted."""
        return sum(c.total for c in self.by_date.values())

    @property
    def excess(self) -> int:
        """Return the excess duplicate lessons counted."""
        return sum(c.excess for c in self.by_date.values())

    @property
    def duplicate_active(self) -> int:
        """Return the ACTIVE series that duplicate an earlier one (dedupe would pause them)."""
        return sum(len(g.ids) - 1 for g in self.series_groups)

    @property
    def problems(self) -> list[str]:
        """Return the names of the problems found (empty when healthy)."""
        found = {
            "excess_duplicates": self.excess,
            "occurrence_duplicates": self.occurrence_excess,
            "duplicate_active_series": self.duplicate_active,
            "guards": sum(1 for s in self.guards.values() if s != "ok"),
            "sessions_on_closure_days": self.on_closure_days,
        }
        return [name for name, n in found.items() if n]

    def as_dict(self) -> dict[str, Any]:
        """Return the diagnosis as plain JSON-able values."""
        return {
            "date": self.on_date.isoformat() if self.on_date else None,
            "healthy": not self.problems,
            "problems": self.problems,
            "sessions": {
                "total": self.total,
                "unique": self.total - self.excess,
                "excess_duplicates": self.excess,
                "occurrence_duplicates": self.occurrence_excess,
                "conflicted": self.conflicted,
                "on_closure_days": self.on_closure_days,
                "future_of_paused_series": self.future_of_inactive.get("PAUSED", 0),
                "future_of_ended_series": self.future_of_inactive.get("ENDED", 0),
                "by_date": {
                    d.isoformat(): {
                        "total": c.total,
                        "unique": c.unique,
                        "excess": c.excess,
                        "by_status": {"CONFIRMED": c.confirmed, "CONFLICTED": c.conflicted},
                    }
                    for d, c in self.by_date.items()
                },
                "worst_groups": [
                    {
                        "date": g.date.isoformat(),
                        "start_time": g.start_time.isoformat("minutes"),
                        "end_time": g.end_time.isoformat("minutes"),
                        "teacher": {"id": g.teacher_id, "name": g.teacher},
                        "student": {"id": g.student_id, "name": g.student},
                        "copies": g.copies,
                        "by_status": {"CONFIRMED": g.confirmed, "CONFLICTED": g.conflicted},
                        "series_ids": g.series_ids,
                        "one_offs": g.one_offs,
                    }
                    for g in self.worst
                ],
            },
            "series": {
                "duplicate_active": self.duplicate_active,
                "groups": [
                    {
                        "branch": g.branch,
                        "teacher": g.teacher,
                        "student_or_title": g.party,
                        "start_time": g.start_time.isoformat("minutes"),
                        "end_time": g.end_time.isoformat("minutes"),
                        "weekdays": mask_names(g.weekdays),
                        "keep": g.ids[0],
                        "duplicates": g.ids[1:],
                    }
                    for g in self.series_groups
                ],
            },
            "guards": self.guards,
        }


def guard_states(db: Session) -> dict[str, str]:
    """Return each guard's state as seen by this transaction: ok, missing or invalid."""
    return guards.states(db)


def series_groups(db: Session) -> list[SeriesGroup]:
    """Return the groups of ACTIVE series that duplicate each other (weekdays as sets)."""
    return [
        SeriesGroup(r.branch, r.teacher, r.party, r.start_time, r.end_time, r.weekdays, r.ids)
        for r in db.execute(text(q.SERIES_GROUPS_SQL))
    ]


def duplicate_counts(db: Session) -> Counts:
    """Count what the uniqueness guards would refuse."""
    return Counts(
        lesson_excess=int(db.execute(text(q.LESSON_EXCESS_SQL)).scalar_one()),
        occurrence_excess=int(db.execute(text(q.OCCURRENCE_EXCESS_SQL)).scalar_one()),
        duplicate_active=sum(len(g.ids) - 1 for g in series_groups(db)),
    )


def diagnose(
    db: Session, *, on_date: date | None = None, top: int = 10, now: datetime | None = None
) -> Diagnosis:
    """Run every evidence query (sessions of one date only, with `on_date`)."""
    params = {"day": on_date, "top": top, "now": now or datetime.now(UTC)}
    by_date = {
        r.date: DateCount(int(r.total), int(r.excess), int(r.confirmed), int(r.conflicted))
        for r in db.execute(text(q.BY_DATE_SQL), params)
    }
    worst = [LessonGroup(**dict(r._mapping)) for r in db.execute(text(q.WORST_SQL), params)]
    conflicted = db.execute(text(q.CONFLICTED_SQL), params).scalar_one()
    return Diagnosis(
        on_date=on_date,
        by_date=by_date,
        worst=worst,
        series_groups=series_groups(db),
        occurrence_excess=int(db.execute(text(q.OCCURRENCE_EXCESS_SQL)).scalar_one()),
        conflicted=int(conflicted),
        future_of_inactive={
            str(r[0]): int(r[1]) for r in db.execute(text(q.INACTIVE_FUTURE_SQL), params)
        },
        on_closure_days=int(db.execute(text(q.CLOSURE_SQL)).scalar_one()),
        guards=guard_states(db),
    )
