"""The operator commands' output: one JSON object, no repair named when none was done."""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import make_url
from typer.testing import Result

from komawari.ops.cli import describe_database

Cli = Callable[..., Result]


def test_dedupe_json_names_no_repair_when_nothing_was_done(cli: Cli) -> None:
    result = cli("dedupe", "--json", "--apply")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["nothing_to_do"] is True
    assert "repair_id" not in report


def test_the_restore_prompt_names_the_database_readably() -> None:
    tcp = make_url("postgresql+psycopg://postgres:secret@db.example:5433/school")
    assert describe_database(tcp) == "database 'school' on db.example:5433 as postgres"
    socket = make_url("postgresql+psycopg://postgres@/komawari?host=/tmp/pg/run")
    assert describe_database(socket) == "database 'komawari' on /tmp/pg/run as postgres"


def test_guard_names_are_never_cut_in_a_narrow_table(cli: Cli) -> None:
    from komawari.db.guards import GUARDS

    shown = cli("guards", "status").output
    for guard in GUARDS:
        assert guard.name in shown
