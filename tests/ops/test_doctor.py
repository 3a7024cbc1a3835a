"""The doctor's counts, checked against counts made here, in Python, over the rows inserted."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from komawari.ops import dedupe, doctor
from komawari.ops import guard_switch as guards
from tests.factories.legacy import INCIDENT_DAY, PAIR, LegacyExport
from tests.ops.conftest import TEST_ACTOR

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def _expected_by_date(export: LegacyExport) -> dict[str, dict[str, Any]]:
    rows: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in export.sessions:
        if r["status"] != "CANCELLED":
            rows[r["date"]].append(r)
    expected = {}
    for day, live in rows.items():
        keys = {(r["start_time"], r["end_time"], r["teacher"], r["student"]) for r in live}
        statuses = Counter(r["status"] for r in live)
        expected[day] = {
            "total": len(live),
            "unique": len(keys),
            "excess": len(live) - len(keys),
            "by_status": {"CONFIRMED": statuses["CONFIRMED"], "CONFLICTED": statuses["CONFLICTED"]},
        }
    return expected


def _expected_duplicate_series(export: LegacyExport) -> int:
    keys = Counter(
        (
            r["branch"],
            r["teacher"],
            r["student"],
            r["start_time"],
            r["end_time"],
            frozenset(json.loads(r["days_of_week"])),
        )
        for r in export.series
        if r["status"] == "ACTIVE"
    )
    return sum(n - 1 for n in keys.values())


def test_the_counts_match_a_count_made_independently(
    db: Session, export: LegacyExport, incident: dict[str, int]
) -> None:
    report = doctor.diagnose(db, now=NOW).as_dict()
    expected = _expected_by_date(export)
    assert report["sessions"]["by_date"] == expected
    assert report["sessions"]["total"] == sum(d["total"] for d in expected.values())
    assert report["sessions"]["excess_duplicates"] == sum(d["excess"] for d in expected.values())
    assert report["series"]["duplicate_active"] == _expected_duplicate_series(export) == 4
    occurrences = Counter((r["series_id"], r["date"]) for r in export.sessions if r["series_id"])
    assert report["sessions"]["occurrence_duplicates"] == sum(n - 1 for n in occurrences.values())
    conflicted = sum(1 for r in export.sessions if r["status"] == "CONFLICTED")
    assert report["sessions"]["conflicted"] == conflicted


def test_the_worst_group_is_the_pair_with_18_copies(
    db: Session, export: LegacyExport, incident: dict[str, int]
) -> None:
    worst = doctor.diagnose(db, now=NOW).as_dict()["sessions"]["worst_groups"][0]
    assert worst["date"] == INCIDENT_DAY.isoformat()
    assert (worst["teacher"]["name"], worst["student"]["name"]) == PAIR
    assert (worst["start_time"], worst["end_time"]) == ("20:00", "21:30")
    assert worst["copies"] == 18
    assert worst["by_status"] == {"CONFIRMED": 1, "CONFLICTED": 17}
    assert sorted(worst["series_ids"]) == sorted(incident[s] for s in ("S1", "S2", "S3", "S4"))


def test_one_date_is_diagnosed_alone(
    db: Session, export: LegacyExport, incident: dict[str, int]
) -> None:
    report = doctor.diagnose(db, on_date=INCIDENT_DAY, now=NOW).as_dict()
    expected = _expected_by_date(export)[INCIDENT_DAY.isoformat()]
    assert report["sessions"]["by_date"] == {INCIDENT_DAY.isoformat(): expected}
    assert report["sessions"]["total"] == expected["total"]
    assert report["sessions"]["excess_duplicates"] == expected["excess"] == 17 + 2


def test_every_guard_dropped_is_reported_missing(db: Session, incident: dict[str, int]) -> None:
    report = doctor.diagnose(db, now=NOW)
    assert set(report.guards.values()) == {"missing"}
    assert report.problems == [
        "excess_duplicates",
        "occurrence_duplicates",
        "duplicate_active_series",
        "guards",
    ]


def test_future_sessions_of_ended_series_and_closure_days_are_found(
    db: Session, export: LegacyExport, incident: dict[str, int]
) -> None:
    inactive = {r["id"] for r in export.series if r["status"] in {"PAUSED", "ENDED"}}
    future = sum(
        1
        for r in export.sessions
        if r["series_id"] in inactive and r["status"] != "CANCELLED" and r["date"] >= "2026-11-20"
    )
    day = date(2026, 12, 7)
    db.execute(
        text("INSERT INTO branch_closures (branch_id, date, reason) VALUES (:b, :d, 'test')"),
        {"b": incident["branches:Shibuya"], "d": day},
    )
    # Every lesson of the export that day is at that branch.
    on_day = sum(
        1 for r in export.sessions if r["date"] == day.isoformat() and r["status"] != "CANCELLED"
    )
    report = doctor.diagnose(db, now=NOW)
    assert report.future_of_inactive.get("ENDED", 0) == future == 1
    assert report.on_closure_days == on_day
    assert "sessions_on_closure_days" in report.problems


def test_after_dedupe_and_guards_on_the_doctor_finds_nothing(
    db: Session, incident: dict[str, int]
) -> None:
    dedupe.run(db, apply=True, now=NOW)
    assert doctor.diagnose(db, now=NOW).problems == ["guards"]
    guards.turn_on(db, actor=TEST_ACTOR)
    report = doctor.diagnose(db, now=NOW)
    assert report.problems == []
    assert report.conflicted == 3  # the real conflicts remain, shown but not a problem


def test_an_empty_database_is_healthy(db: Session) -> None:
    report = doctor.diagnose(db)
    assert report.problems == []
    assert report.as_dict()["sessions"]["total"] == 0
