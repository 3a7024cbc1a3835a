"""The command line: every command listed, clear errors, JSON for machines."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from komawari.cli.main import app

Run = Callable[..., Any]


def test_help_lists_every_command_with_a_description(komawari: Run) -> None:
    result = komawari("--help")
    assert result.exit_code == 0
    for group in app.registered_groups:
        assert group.name in result.output
    for command in app.registered_commands:
        name = command.name or command.callback.__name__  # type: ignore[union-attr]
        assert name in result.output
        assert command.help or (command.callback and command.callback.__doc__)


def test_a_school_is_set_up_and_generated_from_the_command_line(komawari: Run) -> None:
    assert komawari("branch", "add", "Shibuya").exit_code == 0
    assert komawari("teacher", "add", "Sato").exit_code == 0
    assert komawari("student", "add", "Aoi").exit_code == 0
    created = komawari(
        "series",
        "create",
        "--branch",
        "1",
        "--teacher",
        "1",
        "--student",
        "1",
        "--days",
        "thu,mon,1",
        "--start",
        "20:00",
        "--end",
        "21:30",
        "--first",
        "2030-01-07",
        "--last",
        "2030-01-31",
    )
    assert created.exit_code == 0, created.output
    assert "series 1 created (mon,thu 20:00-21:30)" in created.output
    again = komawari(
        "series",
        "create",
        "--branch",
        "1",
        "--teacher",
        "1",
        "--student",
        "1",
        "--days",
        "mon,thu",
        "--start",
        "20:00",
        "--end",
        "21:30",
        "--first",
        "2030-02-01",
    )
    assert again.exit_code == 1  # refused: the series exists
    assert "series 1" in again.output
    run = komawari("generate", "--json", "--through", "2030-12-31")
    assert run.exit_code == 0
    counts = json.loads(run.output)
    assert counts["status"] == "succeeded"
    # 2030 lies past the horizon, so only --through materialises it: Mondays and
    # Thursdays from 7 to 31 January.
    assert counts["created"] == 8
    assert (
        json.loads(komawari("generate", "--json", "--through", "2030-12-31").output)["created"] == 0
    )


def test_bad_input_names_the_option_and_exits_2(komawari: Run) -> None:
    result = komawari("generate", "--through", "2030-13-01")
    assert result.exit_code == 2
    assert "--through" in result.output
    bad_zone = komawari("branch", "add", "Mars", "--tz", "Mars/Olympus")
    assert bad_zone.exit_code == 2
    assert "time_zone" in bad_zone.output
    bad_days = komawari(
        "series",
        "create",
        "--branch",
        "1",
        "--teacher",
        "1",
        "--student",
        "1",
        "--days",
        "funday",
        "--start",
        "20:00",
        "--end",
        "21:30",
        "--first",
        "2030-01-07",
    )
    assert bad_days.exit_code == 2
    assert "weekdays" in bad_days.output


def test_the_skipped_report_is_json_for_machines(komawari: Run) -> None:
    result = komawari("audit", "skipped", "--json", "--since", "2000-01-01")
    assert result.exit_code == 0
    assert json.loads(result.output)["total"] == 0


def test_db_status_reports_every_guard(komawari: Run) -> None:
    result = komawari("db", "status", "--json")
    assert result.exit_code == 0
    status = json.loads(result.output)
    assert status["up_to_date"] is True
    assert set(status["guards"].values()) == {"ok"}
