"""Everyday commands: people and rooms listed, renamed, deactivated; sessions with names."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Run = Callable[..., Any]
DAY = "2030-01-10"  # a Thursday


def _school(komawari: Run) -> None:
    for args in (
        ("branch", "add", "Shibuya"),
        ("branch", "add", "Ueno"),
        ("teacher", "add", "Sato Haruka"),
        ("teacher", "add", "Sato Hiroshi"),
        ("student", "add", "Ito Kenji"),
        ("room", "add", "--branch", "1", "--name", "Room 1", "--capacity", "2"),
    ):
        assert komawari(*args).exit_code == 0
    booked = komawari(
        "session", "add", "--branch", "1", "--teacher", "1", "--student", "1",
        "--date", DAY, "--start", "18:00", "--end", "19:00", "--room", "1",
    )  # fmt: skip
    assert booked.exit_code == 0, booked.output


def test_people_are_listed_renamed_and_deactivated(komawari: Run) -> None:
    _school(komawari)
    listed = json.loads(komawari("teacher", "list", "--json").output)
    assert [(t["id"], t["name"], t["active"]) for t in listed] == [
        (1, "Sato Haruka", True),
        (2, "Sato Hiroshi", True),
    ]
    assert komawari("teacher", "rename", "2", "Sato Hiro").exit_code == 0
    clash = komawari("teacher", "rename", "2", "Sato Haruka")
    assert clash.exit_code == 1  # a refusal (docs/operations.md: exit codes)
    assert "already exists" in clash.output
    assert komawari("teacher", "deactivate", "2").exit_code == 0
    assert [t["id"] for t in json.loads(komawari("teacher", "list", "--json").output)] == [1]
    every = json.loads(komawari("teacher", "list", "--all", "--json").output)
    assert [(t["name"], t["active"]) for t in every][1] == ("Sato Hiro", False)
    refused = komawari(
        "session", "add", "--branch", "1", "--teacher", "2", "--student", "1",
        "--date", DAY, "--start", "20:00", "--end", "21:00",
    )  # fmt: skip
    assert refused.exit_code == 2
    assert "teacher_id: teacher 2 (Sato Hiro) is deactivated" in refused.output
    rooms = json.loads(komawari("room", "list", "--json").output)
    assert [(r["name"], r["branch_id"]) for r in rooms] == [("Room 1", 1)]
    assert komawari("student", "deactivate", "7").exit_code == 2


def test_session_list_shows_names_and_refuses_unknown_ids_and_reversed_ranges(
    komawari: Run,
) -> None:
    _school(komawari)
    day = komawari("session", "list", "--date", DAY)
    assert day.exit_code == 0
    assert "Sato Haruka" in day.output
    assert "Ito Kenji" in day.output
    assert "Shibuya" in day.output  # no --branch: a branch column
    ranged = komawari(
        "session", "list", "--from", "2030-01-07", "--to", "2030-01-13", "--teacher", "1"
    )
    assert "Thu 2030-01-10" in ranged.output
    assert "1 session(s)" in ranged.output
    for args, named in (
        (("--branch", "99"), "branch 99 does not exist"),
        (("--teacher", "99"), "teacher 99 does not exist"),
        (("--student", "99"), "student 99 does not exist"),
    ):
        unknown = komawari("session", "list", "--date", DAY, *args)
        assert unknown.exit_code == 2
        assert named in unknown.output
    backwards = komawari("session", "list", "--from", "2030-01-13", "--to", "2030-01-07")
    assert backwards.exit_code == 2
    assert "is after --to" in backwards.output


def test_a_week_per_teacher_and_per_student(komawari: Run) -> None:
    _school(komawari)
    week = komawari("teacher", "week", "1", "--date", "2030-01-13")
    assert week.exit_code == 0
    assert "week of Mon 2030-01-07" in week.output
    assert "Thu 2030-01-10" in week.output
    student = komawari("student", "week", "1", "--date", "2030-01-07")
    assert "Sato Haruka" in student.output
    assert komawari("teacher", "week", "9").exit_code == 2


def test_series_unenrol_takes_a_student_out_from_a_date(komawari: Run) -> None:
    _school(komawari)
    assert komawari("student", "add", "Mori Aoi").exit_code == 0
    group = komawari(
        "series", "create", "--branch", "1", "--teacher", "2", "--title", "Reading",
        "--capacity", "3", "--students", "1,2", "--days", "sat", "--start", "10:00",
        "--end", "11:00", "--first", "2030-01-05", "--last", "2030-01-26",
    )  # fmt: skip
    assert group.exit_code == 0, group.output
    assert komawari("generate", "--through", "2030-01-31").exit_code == 0
    left = komawari("series", "unenrol", "1", "--student", "2", "--from", "2030-01-19")
    assert left.exit_code == 0, left.output
    assert "removed from 2 session(s)" in left.output
    again = komawari("series", "unenrol", "1", "--student", "2", "--from", "2030-01-19")
    assert again.exit_code == 2


def test_unknown_ids_are_errors_in_series_list_and_generate(komawari: Run) -> None:
    _school(komawari)
    for args, named in (
        (("series", "list", "--branch", "99"), "branch 99 does not exist"),
        (("generate", "--branch", "99"), "branch 99 does not exist"),
        (("generate", "--series", "99"), "there is no series number 99"),
    ):
        result = komawari(*args)
        assert result.exit_code == 2, result.output
        assert named in result.output


def test_unknown_room_and_session_ids_are_errors_naming_them(komawari: Run) -> None:
    _school(komawari)
    for args, named in (
        (("room", "rename", "99", "Room 9"), "room 99"),
        (("room", "deactivate", "99"), "room 99"),
        (("session", "cancel", "99", "--reason", "ill"), "lesson number 99"),
        (("session", "move", "99", "--start", "10:00"), "lesson number 99"),
    ):
        result = komawari(*args)
        assert result.exit_code == 2, (args, result.output)
        assert named in result.output, (args, result.output)
