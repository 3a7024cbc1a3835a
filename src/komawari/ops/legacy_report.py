"""The import's report: what the files hold, what the import did or would do, bad rows."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from komawari.ops.legacy_csv import LegacySeries, LegacySession, RowError


@dataclass
class DateCount:
    """Non-cancelled rows of one date in the file: total, unique lessons, excess copies."""

    total: int
    unique: int

    @property
    def excess(self) -> int:
        """Return the copies beyond the first of each lesson."""
        return self.total - self.unique


@dataclass
class ImportReport:
    """What the import read, would do or did, and the rows it could not load."""

    applied: bool
    strict: bool
    repair_id: uuid.UUID
    sessions_read: int = 0
    series_read: int = 0
    by_date: dict[date, DateCount] = field(default_factory=dict)
    duplicate_active: int = 0
    errors: list[RowError] = field(default_factory=list)
    created: Counter[str] = field(default_factory=Counter)

    @property
    def excess_duplicates(self) -> int:
        """Return the excess copies among the non-cancelled session rows read."""
        return sum(c.excess for c in self.by_date.values())

    @property
    def nothing_to_do(self) -> bool:
        """Return whether the import changes nothing (everything is already there)."""
        return not any(self.created[k] for k in ("series", "sessions", "names"))

    def as_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-able values."""
        c = self.created
        return {
            "applied": self.applied,
            "strict": self.strict,
            "repair_id": str(self.repair_id),
            "nothing_to_do": self.nothing_to_do,
            "sessions": {
                "read": self.sessions_read,
                "excess_duplicates": self.excess_duplicates,
                "by_date": {
                    d.isoformat(): {"total": n.total, "unique": n.unique, "excess": n.excess}
                    for d, n in sorted(self.by_date.items())
                },
                "created": c["sessions"],
                "skipped_existing": c["sessions_skipped"],
                "cancelled_as_duplicates": c["sessions_duplicate"],
                "confirmed": c["CONFIRMED"],
                "conflicted": c["CONFLICTED"],
                "cancelled": c["CANCELLED"],
            },
            "series": {
                "read": self.series_read,
                "duplicate_active": self.duplicate_active,
                "paused": c["series_paused"],
                "created": c["series"],
                "skipped_existing": c["series_skipped"],
            },
            "names_created": {k: c[k] for k in ("branches", "teachers", "students")},
            "errors": [{"file": e.file, "line": e.line, "message": e.message} for e in self.errors],
        }


def count_file(report: ImportReport, series: list[LegacySeries], rows: list[LegacySession]) -> None:
    """Count the file's lessons per date (non-cancelled rows) and its duplicate ACTIVE series."""
    lessons: dict[date, list[tuple[object, ...]]] = defaultdict(list)
    for r in rows:
        if r.status != "CANCELLED":
            lessons[r.date].append((r.start_time, r.end_time, r.teacher, r.student))
    report.by_date = {d: DateCount(len(k), len(set(k))) for d, k in lessons.items()}
    keys = Counter(
        (s.branch, s.teacher, s.student, s.start_time, s.end_time, s.weekdays)
        for s in series
        if s.status == "ACTIVE"
    )
    report.duplicate_active = sum(n - 1 for n in keys.values())
