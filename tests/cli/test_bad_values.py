"""Bad values on the command line: exit 2 naming the option, nothing changed; safe output."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from komawari.audit import service as audit
from komawari.audit.models import AuditEvent
from komawari.audit.service import Actor
from komawari.db.engine import session_scope

Run = Callable[..., Any]
ESCAPES = "\x1b]0;owned\x07\x1b[2J"


def _events(engine: Engine) -> int:
    with session_scope(engine) as s:
        return int(s.scalar(select(func.count()).select_from(AuditEvent)) or 0)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("teacher", "add", "\u200b"), "name"),
        (("student", "add", "Ito\x1b[2J"), "name"),
        (("branch", "add", "\x85"), "name"),
        (("room", "add", "--branch", "1", "--name", "\u3164", "--capacity", "2"), "--name"),
        (("branch", "add", "Kobe", "--tz", "posix/Asia/Tokyo"), "time_zone"),
        (("branch", "add", "Kobe", "--tz", "localtime"), "time_zone"),
        (("branch", "closure", "add", "1", "2026-12-29", "--reason", ESCAPES), "--reason"),
        (("branch", "closure", "add", "1", "9999-12-31"), "DAY"),
        (("session", "cancel", "1", "--reason", ESCAPES), "--reason"),
        (("session", "list", "--date", "0001-01-01"), "--date"),
        (("series", "pause", "1", "--reason", "a\tb"), "--reason"),
        (("series", "end", "1", "--last", "2201-01-01"), "--last"),
        (("generate", "--through", "9999-12-31"), "--through"),
        (("audit", "events", "--since", "0001-01-01"), "--since"),
        (("doctor", "--date", "9999-12-31"), "--date"),
        (("token", "create", "--user", "ad\x1bmin", "--role", "admin"), "--user"),
        (("token", "create", "--user", "ok", "--role", "admin", "--name", "\u200b"), "--name"),
    ],
)
def test_a_bad_value_exits_2_naming_it_and_changes_nothing(
    komawari: Run, committed_engine: Engine, args: tuple[str, ...], named: str
) -> None:
    assert komawari("branch", "add", "Shibuya").exit_code == 0
    before = _events(committed_engine)
    result = komawari(*args)
    assert result.exit_code == 2, result.output
    assert named in result.output.replace("│", "")
    assert "Traceback" not in result.output
    assert "\x1b" not in result.output
    assert _events(committed_engine) == before


def test_series_create_refuses_a_first_date_out_of_bounds(komawari: Run) -> None:
    for setup in (("branch", "add", "A"), ("teacher", "add", "T"), ("student", "add", "S")):
        assert komawari(*setup).exit_code == 0
    result = komawari(
        "series", "create", "--branch", "1", "--teacher", "1", "--student", "1",
        "--days", "mon", "--start", "10:00", "--end", "11:00", "--first", "0001-01-01",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "first_date: Value error, 0001-01-01 is outside the years 1900 to 2200" in result.output


def test_audit_events_print_control_characters_escaped(
    komawari: Run, committed_engine: Engine
) -> None:
    with session_scope(committed_engine) as s:  # a legacy row may hold them
        audit.record(
            s,
            actor=Actor("cli", "[b]x"),
            action="session.cancel",
            subject_type="session",
            subject_id=7,
            reason=ESCAPES,
        )
    result = komawari("audit", "events")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output
    assert "\x07" not in result.output
    assert "\\x1b]0;owned" in result.output  # escaped (the table may cut the rest)
    assert "cli:[b]x" in result.output  # not read as Rich markup
