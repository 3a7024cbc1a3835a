"""No traceback from any command: one line naming what is wrong, and the right exit code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from komawari.people import service as people_service

Run = Callable[..., Any]


def test_an_impossible_date_says_why(komawari: Run) -> None:
    result = komawari("session", "list", "--date", "2025-02-30")
    assert result.exit_code == 2
    assert "2025-02-30: February 2025 has 28 days" in result.output
    assert "--date" in result.output


def test_an_option_error_is_one_line_without_a_panel(komawari: Run) -> None:
    result = komawari("session", "list", "--date", "soon")
    assert result.exit_code == 2
    assert "╭" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: Invalid value for --date: 'soon'")


def test_dash_h_is_help_and_flags_are_not_labelled_bool(komawari: Run) -> None:
    result = komawari("import", "legacy", "-h")
    assert result.exit_code == 0
    assert "--apply" in result.output
    assert "<bool>" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("series", "show", "-5"),
        ("session", "cancel", "-1", "--reason", "ill"),
        ("token", "revoke", "0"),
    ],
)
def test_a_negative_id_is_read_and_refused_clearly(komawari: Run, args: tuple[str, ...]) -> None:
    result = komawari(*args)
    assert result.exit_code == 2
    assert "is not an id (ids are whole numbers from 1)" in result.output
    assert "No such option" not in result.output


def test_a_token_for_an_unknown_teacher_is_refused_by_name(komawari: Run) -> None:
    result = komawari("token", "create", "--user", "t", "--role", "teacher", "--teacher", "999")
    assert result.exit_code == 2
    assert "teacher 999 does not exist" in result.output
    assert "Traceback" not in result.output


def test_an_unexpected_error_is_one_line_and_a_hint_unless_debug(
    komawari: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(people_service, "create_teacher", broken)
    result = komawari("teacher", "add", "Sato")
    assert result.exit_code == 1
    assert "error: unexpected RuntimeError: disk on fire" in result.output
    assert "second line" not in result.output
    assert "rerun with --debug" in result.output
    with pytest.raises(RuntimeError, match="disk on fire"):
        komawari("--debug", "teacher", "add", "Sato")
