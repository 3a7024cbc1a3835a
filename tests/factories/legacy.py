"""An incident-like legacy export (CSV files), and a way to load it as the legacy DB held it.

The incident, in small: four identical ACTIVE series for one pair created minutes apart
(days_of_week in different orders), hourly generators that copied their lessons, so one
Thursday holds 18 copies of the pair's 20:00-21:30 lesson (1 CONFIRMED, 17 CONFLICTED);
a second pair with two duplicate series; 60 ordinary lessons a day; a few real
conflicts; cancelled rows; a PAUSED and an ENDED series.
"""

from __future__ import annotations

import csv
import itertools
import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from komawari.scheduling.weekdays import to_mask

JST = timezone(timedelta(hours=9))
SERIES_HEADER = [
    "id",
    "branch",
    "teacher",
    "student",
    "start_time",
    "end_time",
    "days_of_week",
    "status",
    "created_at",
]
SESSION_HEADER = [
    "id",
    "series_id",
    "date",
    "start_time",
    "end_time",
    "teacher",
    "student",
    "status",
    "created_at",
]
INCIDENT_DAY = date(2026, 12, 3)  # a Thursday
MON_THU = [date(2026, 11, 30), INCIDENT_DAY, date(2026, 12, 7), date(2026, 12, 10)]
TUE_FRI = [date(2026, 12, 1), date(2026, 12, 4), date(2026, 12, 8), date(2026, 12, 11)]
PAIR = ("Sato Haruka", "Ito Kenji")
INCIDENT_SERIES = {"S1": "[1,4]", "S2": "[4,1]", "S3": "[4,1,4]", "S4": "[1, 4]"}
INCIDENT_COPIES = {"S1": 5, "S2": 5, "S3": 4, "S4": 4}  # 18 on the incident day


@dataclass
class LegacyExport:
    """The two files, their rows, and what a correct repair must leave."""

    folder: Path
    series: list[dict[str, str]] = field(default_factory=list)
    sessions: list[dict[str, str]] = field(default_factory=list)
    kept_series: list[str] = field(default_factory=list)
    paused_series: list[str] = field(default_factory=list)
    survivor: str = ""  # the earliest of the 18 copies
    real_conflicts: list[str] = field(default_factory=list)
    bad_rows: list[tuple[str, int, str]] = field(default_factory=list)

    @property
    def series_path(self) -> Path:
        return self.folder / "series.csv"

    @property
    def sessions_path(self) -> Path:
        return self.folder / "sessions.csv"

    def write(self) -> LegacyExport:
        self.folder.mkdir(parents=True, exist_ok=True)
        for path, header, rows in (
            (self.series_path, SERIES_HEADER, self.series),
            (self.sessions_path, SESSION_HEADER, self.sessions),
        ):
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=header)
                writer.writeheader()
                writer.writerows(rows)
        return self


class _Builder:
    def __init__(self, export: LegacyExport) -> None:
        self.export = export
        self.ids = itertools.count(1)
        self.clock = datetime(2026, 11, 1, 9, 0, tzinfo=JST)

    def tick(self, minutes: int = 1) -> str:
        self.clock += timedelta(minutes=minutes)
        return self.clock.isoformat()

    def series(self, *values: str, status: str = "ACTIVE", created: str | None = None) -> None:
        row = [*values, status, created or self.tick()]
        self.export.series.append(dict(zip(SERIES_HEADER, row, strict=True)))

    def session(self, series_id: str, day: date, *values: str, status: str = "CONFIRMED") -> str:
        """Add a session row (start, end, teacher, student after the date); return its id."""
        lid = f"L{next(self.ids):05d}"
        row = [lid, series_id, day.isoformat(), *values, status, self.tick()]
        self.export.sessions.append(dict(zip(SESSION_HEADER, row, strict=True)))
        return lid


def incident_export(folder: Path, *, with_bad_rows: bool = False) -> LegacyExport:
    """Build (and write) the incident-like export in `folder`."""
    export = LegacyExport(folder)
    b = _Builder(export)
    teacher, student = PAIR
    for sid, days in INCIDENT_SERIES.items():  # created minutes apart
        b.series(sid, "Shibuya", teacher, student, "20:00", "21:30", days, created=b.tick(3))
    export.kept_series, export.paused_series = ["S1", "S5"], ["S2", "S3", "S4", "S6"]
    b.series("S5", "Yokohama", "Tanaka Yui", "Sato Mio", "18:00", "19:00", "[2,5]")
    b.series("S6", "Yokohama", "Tanaka Yui", "Sato Mio", "18:00", "19:00", "[5,2]")
    b.series("S7", "Yokohama", "Tanaka Yui", "Sato Mio", "18:00", "19:00", "[2,5]", status="PAUSED")
    b.series("S8", "Shibuya", teacher, "Kato Aoi", "18:00", "19:00", "[1,4]")
    regular = []
    for i in range(60):  # 20 teachers with 3 back-to-back lessons, each with its own student
        t, hour = f"Teacher {i // 3 + 1:02d}", 15 + i % 3
        row = (f"R{i + 1}", t, f"Student {i + 1:02d}", f"{hour}:00", f"{hour + 1}:00")
        regular.append(row)
        b.series(row[0], "Shibuya", row[1], row[2], row[3], row[4], "[1,4]")
    b.series("S9", "Shibuya", "Teacher 20", "Student 61", "19:00", "20:00", "[1]", status="ENDED")
    b.session("S9", MON_THU[0], "19:00", "20:00", "Teacher 20", "Student 61")

    for day in MON_THU:
        for sid, copies in INCIDENT_COPIES.items():  # hourly generator copies
            for n in range(copies if day == INCIDENT_DAY else 1):
                status = "CONFIRMED" if sid == "S1" and n == 0 else "CONFLICTED"
                if day == MON_THU[3] and sid == "S1":
                    # An earlier copy cancelled: the live one still holds the occurrence.
                    b.session(sid, day, "20:00", "21:30", teacher, student, status="CANCELLED")
                lid = b.session(sid, day, "20:00", "21:30", teacher, student, status=status)
                if day == INCIDENT_DAY and sid == "S1" and n == 0:
                    export.survivor = lid
        b.session("S8", day, "18:00", "19:00", teacher, "Kato Aoi")
        for sid, t, s, start, end in regular:
            copies = 3 if (sid == "R1" and day == INCIDENT_DAY) else 1
            for n in range(copies):
                cancelled = sid == "R16" and day == MON_THU[2]
                status = "CANCELLED" if cancelled else "CONFIRMED" if n == 0 else "CONFLICTED"
                b.session(sid, day, start, end, t, s, status=status)
    for day in TUE_FRI:
        b.session("S5", day, "18:00", "19:00", "Tanaka Yui", "Sato Mio")
        b.session("S6", day, "18:00", "19:00", "Tanaka Yui", "Sato Mio", status="CONFLICTED")
    # Real conflicts, booked after the lessons they collide with.
    export.real_conflicts = [
        b.session("", INCIDENT_DAY, "20:30", "21:00", teacher, "Abe Sora", status="CONFLICTED"),
        b.session(
            "", MON_THU[2], "17:30", "18:30", "Teacher 19", "Student 03", status="CONFLICTED"
        ),
        b.session("", MON_THU[0], "15:30", "16:30", "Teacher 02", "Mori Rin", status="CONFLICTED"),
    ]
    if with_bad_rows:
        _bad_rows(export, b)
    return export.write()


def _bad_rows(export: LegacyExport, b: _Builder) -> None:
    b.series("S99", "Shibuya", "Teacher 01", "Student 99", "09:00", "10:00", "[8]")
    export.bad_rows.append(("series.csv", len(export.series) + 1, "days_of_week"))
    for series_id, day, start, end, what in (
        ("S404", "2026-12-03", "09:00", "10:00", "unknown series 'S404'"),
        ("R2", "2026-12-03", "11:00", "10:00", "end_time"),
        ("R2", "2026-02-30", "09:00", "10:00", "date"),
        ("S99", "2026-12-03", "09:00", "10:00", "series.csv line"),
    ):
        b.session(series_id, MON_THU[0], start, end, "Teacher 01", "Student 02")
        export.sessions[-1]["date"] = day
        export.bad_rows.append(("sessions.csv", len(export.sessions) + 1, what))


def load_as_legacy(db: Session, export: LegacyExport) -> dict[str, int]:
    """Insert the export as the legacy database held it (guards must be off); legacy id -> id."""
    ids: dict[str, int] = {}
    for table, column in (("branches", "branch"), ("teachers", "teacher"), ("students", "student")):
        names = {r[column] for r in export.series} | (
            {r[column] for r in export.sessions} if column != "branch" else set()
        )
        for name in sorted(names):
            ids[f"{table}:{name}"] = db.execute(
                text(f"INSERT INTO {table} (name) VALUES (:n) RETURNING id"), {"n": name}
            ).scalar_one()
    for r in export.series:
        ids[r["id"]] = db.execute(
            text(
                "INSERT INTO class_series (branch_id, teacher_id, kind, student_id, weekdays,"
                " start_time, end_time, first_date, last_date, status, created_at, legacy_id)"
                " VALUES (:b, :t, 'PRIVATE', :s, :w, :st, :et, :first, :last, :status, :c, :id)"
                " RETURNING id"
            ),
            {
                "b": ids[f"branches:{r['branch']}"],
                "t": ids[f"teachers:{r['teacher']}"],
                "s": ids[f"students:{r['student']}"],
                "w": to_mask(json.loads(r["days_of_week"])),
                "st": time.fromisoformat(r["start_time"]),
                "et": time.fromisoformat(r["end_time"]),
                "first": MON_THU[0] - timedelta(days=30),
                "last": MON_THU[0] if r["status"] == "ENDED" else None,
                "status": r["status"],
                "c": datetime.fromisoformat(r["created_at"]),
                "id": r["id"],
            },
        ).scalar_one()
    branch_of = {r["id"]: r["branch"] for r in export.series}
    for r in export.sessions:
        series_id = ids.get(r["series_id"]) if r["series_id"] else None
        ids[r["id"]] = db.execute(
            text(
                "INSERT INTO class_sessions (branch_id, time_zone, series_id, original_date,"
                " kind, date, start_time, end_time, teacher_id, student_id, status,"
                " cancel_reason, created_at, legacy_id) VALUES (:b, 'Asia/Tokyo', :series,"
                " :od, 'PRIVATE', :d, :st, :et, :t, :s, :status, :reason, :c, :id)"
                " RETURNING id"
            ),
            {
                "b": ids[f"branches:{branch_of.get(r['series_id'], 'Shibuya')}"],
                "series": series_id,
                "od": date.fromisoformat(r["date"]) if series_id else None,
                "d": date.fromisoformat(r["date"]),
                "st": time.fromisoformat(r["start_time"]),
                "et": time.fromisoformat(r["end_time"]),
                "t": ids[f"teachers:{r['teacher']}"],
                "s": ids[f"students:{r['student']}"],
                "status": r["status"],
                "reason": "legacy" if r["status"] == "CANCELLED" else None,
                "c": datetime.fromisoformat(r["created_at"]),
                "id": r["id"],
            },
        ).scalar_one()
    return ids
