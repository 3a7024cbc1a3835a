"""The operator's commands end to end: exit codes, one JSON object, dry runs, backup, restore."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine
from typer.testing import Result

from komawari.db import guards
from tests.factories.legacy import LegacyExport, incident_export
from tests.ops.conftest import Snapshot, json_of, snapshot

Cli = Callable[..., Result]


def _rows(engine: Engine) -> Snapshot:
    with engine.connect() as conn:
        rows = snapshot(conn)
    # A restore records itself in the audit log, after the restore.
    rows["audit_events"] = [r for r in rows["audit_events"] if "ops.restore" not in r]
    return rows


def test_doctor_exits_1_on_the_incident_with_one_json_object(
    cli: Cli, committed_incident: dict[str, int]
) -> None:
    result = cli("doctor", "--json")
    assert result.exit_code == 1
    report = json_of(result)  # the whole of stdout is one JSON object
    assert report["sessions"]["worst_groups"][0]["copies"] == 18
    assert report["series"]["duplicate_active"] == 4
    assert set(report["guards"].values()) == {"missing"}
    people = cli("doctor", "--date", "2026-12-03")
    assert people.exit_code == 1
    assert "worst duplicate groups" in people.stdout


def test_doctor_exits_0_on_a_healthy_database_and_2_on_a_bad_date(cli: Cli) -> None:
    assert cli("doctor").exit_code == 0
    bad = cli("doctor", "--date", "2026-02-30")
    assert bad.exit_code == 2
    assert bad.stdout == ""


def test_the_incident_repair_from_plan_to_guards_on_and_back_from_the_backup(
    cli: Cli, committed_engine: Engine, committed_incident: dict[str, int], tmp_path: Path
) -> None:
    before = _rows(committed_engine)
    plan = cli("dedupe", "--json")
    assert plan.exit_code == 1  # duplicates found, nothing changed
    assert json_of(plan)["applied"] is False
    assert _rows(committed_engine) == before

    refused = cli("guards", "on", "--json")
    assert refused.exit_code == 1
    assert json_of(refused)["command"] == "komawari dedupe --apply"
    assert "IntegrityError" not in refused.output

    applied = cli("dedupe", "--apply", "--json")
    assert applied.exit_code == 0, applied.output
    done = json_of(applied)
    assert done["applied"] is True
    backup_path = Path(done["backup"])
    assert backup_path.parent == tmp_path / "data" / "backups"
    assert backup_path.name.startswith("komawari_backup_")

    again = cli("dedupe", "--json")
    assert (again.exit_code, json_of(again)["nothing_to_do"]) == (0, True)
    assert cli("guards", "on").exit_code == 0
    assert cli("guards", "status").exit_code == 0
    assert cli("doctor").exit_code == 0

    committed_engine.dispose()  # the test's idle connections would be "other sessions"
    restored = cli("restore", str(backup_path), "--yes", "--json")
    assert restored.exit_code == 0, restored.output
    assert Path(json_of(restored)["safety_backup"]).exists()
    assert _rows(committed_engine) == before
    assert set(guards.guard_states(committed_engine).values()) == {"missing"}


def test_restore_asks_first_and_refuses_what_is_not_a_komawari_backup(
    cli: Cli, committed_engine: Engine, committed_incident: dict[str, int], tmp_path: Path
) -> None:
    made = cli("backup", "--out", str(tmp_path / "mine.dump"), "--json")
    assert made.exit_code == 0, made.output
    before = _rows(committed_engine)
    committed_engine.dispose()  # the test's idle connections would be "other sessions"
    declined = cli("restore", str(tmp_path / "mine.dump"), input="n\n")
    assert declined.exit_code == 1
    assert _rows(committed_engine) == before
    junk = tmp_path / "junk.dump"
    junk.write_text("hello")
    refused = cli("restore", str(junk), "--yes")
    assert refused.exit_code == 2
    assert "not a readable pg_dump archive" in " ".join(refused.stderr.split())
    assert _rows(committed_engine) == before


def test_guards_off_asks_then_drops_loudly(cli: Cli, committed_engine: Engine) -> None:
    assert cli("guards", "off", input="n\n").exit_code == 1
    assert set(guards.guard_states(committed_engine).values()) == {"ok"}
    dropped = cli("guards", "off", "--yes", "--reason", "bulk fix", "--json")
    assert dropped.exit_code == 0
    assert "UNIQUENESS GUARDS OFF" in " ".join(dropped.stderr.split())
    assert len(json_of(dropped)["dropped"]) == 4
    status = cli("guards", "status", "--json")
    assert status.exit_code == 1
    assert set(json_of(status)["guards"].values()) == {"missing"}


def test_import_legacy_is_a_dry_run_first_then_loads_once(
    cli: Cli, committed_engine: Engine, export: LegacyExport
) -> None:
    files = ("--series", str(export.series_path), "--sessions", str(export.sessions_path))
    before = _rows(committed_engine)
    dry = cli("import", "legacy", *files, "--json")
    assert dry.exit_code == 0, dry.output
    assert json_of(dry)["applied"] is False
    assert _rows(committed_engine) == before
    loaded = cli("import", "legacy", *files, "--apply", "--json")
    assert loaded.exit_code == 0, loaded.output
    report = json_of(loaded)
    assert report["series"]["paused"] == 4
    assert report["sessions"]["created"] == len(export.sessions)
    assert cli("doctor").exit_code == 0  # deduplicated on the way in, guards never off
    after = _rows(committed_engine)
    again = cli("import", "legacy", *files, "--apply", "--json")
    assert json_of(again)["nothing_to_do"] is True
    assert _rows(committed_engine) == after
    people = cli("import", "legacy", *files)
    assert "legacy import" in people.stdout


def test_import_legacy_reports_bad_rows_and_strict_loads_nothing(
    cli: Cli, committed_engine: Engine, tmp_path: Path
) -> None:
    export = incident_export(tmp_path / "bad", with_bad_rows=True)
    files = ("--series", str(export.series_path), "--sessions", str(export.sessions_path))
    before = _rows(committed_engine)
    strict = cli("import", "legacy", *files, "--apply", "--strict", "--json")
    assert strict.exit_code == 1
    errors = json_of(strict)["errors"]
    assert [(e["file"], e["line"]) for e in errors] == [(f, n) for f, n, _ in export.bad_rows]
    assert _rows(committed_engine) == before
    lenient = cli("import", "legacy", *files, "--apply", "--json")
    assert lenient.exit_code == 1  # problems found, the rest loaded
    assert json_of(lenient)["sessions"]["created"] == len(export.sessions) - 4
    missing = cli("import", "legacy", "--series", str(tmp_path / "nope.csv"), *files[2:])
    assert missing.exit_code == 2


def test_every_json_output_is_exactly_one_object(cli: Cli) -> None:
    for args in (("doctor",), ("dedupe",), ("guards", "status"), ("guards", "on")):
        result = cli(*args, "--json")
        assert isinstance(json.loads(result.stdout), dict), args
