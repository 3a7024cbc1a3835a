"""Restore: a file named like an option, other sessions connected, plans that outlive it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from typer.testing import Result

from komawari.db.engine import make_engine
from komawari.ops import backup

Cli = Callable[..., Result]


def test_a_backup_named_like_an_option_is_read_as_a_file(
    committed_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backup.backup(committed_engine, folder=tmp_path, out=tmp_path / "-x")
    monkeypatch.chdir(tmp_path)
    assert backup.inspect(Path("./-x")).is_komawari
    backup.restore(committed_engine, Path("./-x"))


def test_restore_refuses_while_others_are_connected_and_names_them(
    cli: Cli, committed_engine: Engine, database_url: str, tmp_path: Path
) -> None:
    made = cli("backup", "--out", str(tmp_path / "b.dump"), "--json")
    assert made.exit_code == 0, made.output
    server = create_engine(database_url, connect_args={"application_name": "komawari-serve"})
    try:
        with server.connect() as serving:
            serving.execute(text("SELECT 1"))
            committed_engine.dispose()  # the test's own idle connections are not the point
            refused = cli("restore", str(tmp_path / "b.dump"), "--yes")
            assert refused.exit_code == 1, refused.output
            said = " ".join(refused.stderr.split())
            assert "komawari-serve" in said
            assert "--force" in said
            forced = cli("restore", str(tmp_path / "b.dump"), "--yes", "--force")
            assert forced.exit_code == 0, forced.output
            with pytest.raises(DBAPIError):  # its session was ended before the restore
                serving.execute(text("SELECT 1"))
    finally:
        server.dispose()


def test_a_changed_schema_does_not_break_the_apps_connections(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            for _ in range(8):  # psycopg would prepare this statement after 5 executions
                conn.execute(text("SELECT * FROM branches")).all()
            conn.commit()  # a prepared statement outlives its transaction; the lock does not
            with make_engine(database_url).begin() as other:  # what a restore does
                other.execute(text("ALTER TABLE branches ADD COLUMN restored_extra int"))
            try:
                conn.execute(text("SELECT * FROM branches")).all()
            finally:
                conn.rollback()
                with make_engine(database_url).begin() as other:
                    other.execute(text("ALTER TABLE branches DROP COLUMN restored_extra"))
    finally:
        engine.dispose()


def test_the_apps_connections_are_named(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            name = conn.execute(text("SELECT current_setting('application_name')")).scalar()
        assert str(name).startswith("komawari")
    finally:
        engine.dispose()


HELD_BY_RESTORE = """
SELECT c.relname FROM pg_locks l
  JOIN pg_stat_activity a ON a.pid = l.pid
  JOIN pg_class c ON c.oid = l.relation
 WHERE a.application_name = 'komawari-restore' AND a.datname = current_database()
   AND l.granted AND l.mode = 'AccessExclusiveLock'
   AND c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace
   AND EXISTS (SELECT 1 FROM pg_locks w WHERE w.pid = l.pid AND NOT w.granted)
 ORDER BY c.relname LIMIT 1
"""


def test_a_request_that_deadlocks_with_a_restore_loses_and_the_restore_goes_on(
    committed_engine: Engine, database_url: str, tmp_path: Path
) -> None:
    # A server's request reconnected under a restore: it read a table pg_restore needs,
    # then reads one pg_restore already holds. One of the two must give way.
    archive = backup.backup(committed_engine, folder=tmp_path)
    request, watcher = make_engine(database_url), make_engine(database_url)
    outcome: list[BaseException | None] = []

    def restore() -> None:
        try:
            backup.restore(committed_engine, archive.path)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    try:
        with request.connect() as conn:
            # AccessShare on branches until the transaction ends: pg_restore, dropping the
            # foreign keys that point to it, waits for it with another table locked.
            conn.execute(text("SELECT 1 FROM branches LIMIT 1"))
            thread = threading.Thread(target=restore)
            thread.start()
            held = None
            with watcher.connect() as watch:
                for _ in range(2000):
                    held = watch.execute(text(HELD_BY_RESTORE)).scalar()
                    watch.rollback()  # pg_stat_activity is a snapshot per transaction
                    if held is not None:
                        break
                    time.sleep(0.01)
            assert held is not None, f"pg_restore never waited for the request's lock: {outcome}"
            time.sleep(0.3)  # the restore has waited longer: without the fix it is the victim
            with pytest.raises(DBAPIError, match="deadlock"):
                conn.execute(text(f'SELECT 1 FROM "{held}" LIMIT 1'))
            conn.rollback()
            thread.join()
    finally:
        request.dispose()
        watcher.dispose()
    assert outcome == [None]
