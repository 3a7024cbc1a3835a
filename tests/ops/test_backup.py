"""Backups: written by pg_dump, verified, recognised, and restored row for row."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from typer.testing import Result

from komawari.db import guards as db_guards
from komawari.errors import ConfigurationError, InvalidInput
from komawari.ops import backup, dedupe
from komawari.ops import guard_switch as guards
from tests.ops.conftest import TEST_ACTOR, json_of, snapshot


def _state(engine: Engine) -> tuple[dict[str, object], dict[str, str]]:
    with engine.connect() as conn:
        return snapshot(conn), db_guards.guard_states(engine)  # type: ignore[return-value]


def test_a_backup_restores_exactly_the_previous_state(
    committed_engine: Engine, committed_incident: dict[str, int], tmp_path: Path
) -> None:
    before = _state(committed_engine)
    archive = backup.backup(committed_engine, folder=tmp_path)
    assert re.fullmatch(r"komawari_backup_\d{8}_\d{6}\.dump", archive.path.name)
    assert archive.is_komawari
    assert archive.header["dbname"] == committed_engine.url.database
    assert archive.dumper_major >= 15
    assert archive.header["Archive created at"]
    with Session(committed_engine) as s, s.begin():  # the repair, then more changes
        dedupe.run(s, apply=True)
        guards.turn_on(s, actor=TEST_ACTOR)
    assert _state(committed_engine) != before
    backup.restore(committed_engine, archive.path)
    assert _state(committed_engine) == before  # every row, and the guards as they were


def test_a_file_that_is_not_a_komawari_backup_is_refused(
    committed_engine: Engine, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.dump"
    junk.write_bytes(b"not a dump at all")
    with pytest.raises(InvalidInput, match="not a readable pg_dump archive"):
        backup.restore(committed_engine, junk)
    partial = tmp_path / "branches_only.dump"
    conninfo, env = backup.connection(committed_engine.url)
    tool = backup.client_tool("pg_dump")
    subprocess.run(
        [tool.path, "-Fc", "--table=branches", f"--file={partial}", conninfo], env=env, check=True
    )
    before = _state(committed_engine)
    with pytest.raises(InvalidInput, match="not a Komawari backup"):
        backup.restore(committed_engine, partial)
    assert _state(committed_engine) == before


def test_a_missing_client_tool_is_named_with_where_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"pg_dump not found.*postgresql-client"):
        backup.client_tool("pg_dump", search=[tmp_path])


def _fake_tool(folder: Path, name: str, version: str) -> Path:
    """Write a program that only answers --version, as an old or odd client would."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {version}'\n")
    path.chmod(0o755)
    return path


def test_the_newest_client_tool_is_chosen_wherever_it_is(tmp_path: Path) -> None:
    old = _fake_tool(tmp_path / "old", "pg_restore", "14.9")
    new = _fake_tool(tmp_path / "new", "pg_restore", "17.1")
    for order in ([old.parent, new.parent], [new.parent, old.parent]):
        assert backup.client_tool("pg_restore", search=order) == backup.Tool(str(new), 17)


def test_a_pg_dump_older_than_the_server_is_refused(
    committed_engine: Engine, tmp_path: Path
) -> None:
    old = _fake_tool(tmp_path / "bin", "pg_dump", "9.6.24")
    with pytest.raises(ConfigurationError, match=r"pg_dump 9 .* cannot dump a PostgreSQL 1\d"):
        backup.backup(committed_engine, folder=tmp_path, search=[old.parent])
    assert not list(tmp_path.glob("*.dump*"))


def test_a_backup_never_overwrites_a_file(committed_engine: Engine, tmp_path: Path) -> None:
    taken = tmp_path / "taken.dump"
    taken.write_text("keep me")
    with pytest.raises(InvalidInput, match="already exists"):
        backup.backup(committed_engine, folder=tmp_path, out=taken)
    assert taken.read_text() == "keep me"


def test_two_backups_in_one_second_get_two_names(tmp_path: Path) -> None:
    moment = datetime(2026, 12, 3, 20, 0, 5)
    first = backup.default_path(tmp_path, moment)
    first.touch()
    second = backup.default_path(tmp_path, moment)
    assert (first.name, second.name) == (
        "komawari_backup_20261203_200005.dump",
        "komawari_backup_20261203_200005_2.dump",
    )


def test_a_socket_url_becomes_libpq_arguments_and_the_password_stays_off_the_command_line() -> None:
    url = make_url("postgresql+psycopg://admin:s3cret@/school?host=/run/pg%20sock")
    conninfo, env = backup.connection(url)
    assert "s3cret" not in conninfo
    assert env["PGPASSWORD"] == "s3cret"
    assert conninfo == "host='/run/pg sock' user=admin dbname=school"


def test_a_backup_is_readable_by_its_owner_only(committed_engine: Engine, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    folder = shared / "data" / "backups"
    umask = os.umask(0o022)  # the usual default, under which files come out 0644
    try:
        archive = backup.backup(committed_engine, folder=folder)
    finally:
        os.umask(umask)
    assert stat.S_IMODE(archive.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755  # what existed is left alone


def test_a_restore_is_audited_with_the_database_as_its_subject(
    cli: Callable[..., Result], committed_engine: Engine
) -> None:
    written = cli("backup", "--json")
    assert written.exit_code == 0, written.output
    path = json_of(written)["path"]
    committed_engine.dispose()  # the test's idle connections would be "other sessions"
    assert cli("restore", path, "--yes", "--no-backup").exit_code == 0
    shown = cli("audit", "events", "--action", "ops.restore", "--json")
    assert shown.exit_code == 0, shown.output
    [event] = json.loads(shown.stdout)
    assert event["subject"] == f"database:{committed_engine.url.database}"
    assert event["details"]["database"] == committed_engine.url.database
