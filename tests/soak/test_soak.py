"""`komawari soak`: a short run passes with its figures; the fault helpers do what they say."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psycopg
import pytest
from sqlalchemy.engine import make_url

from komawari_soak.ledger import Ledger, ServerError, Window
from komawari_soak.stack import Database

REQUIRED = {
    "requests",
    "acknowledged_writes",
    "lost_writes",
    "duplicates",
    "http_5xx_outside_restart",
    "http_5xx_in_fault_windows",
    "faults_injected",
    "faults",
    "idempotency_mismatches",
    "credit_double_issues",
    "credit_double_uses",
    "doctor_clean",
    "minutes",
    "passed",
}


@pytest.mark.ci_suite("local")  # CI's own soak step runs on the embedded database
def test_a_short_soak_passes_with_every_fault_and_prints_one_json_object(database_url: str) -> None:
    # On the test server when there is one (a scratch database of its own), else embedded.
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOMAWARI_")}
    env.pop("DATABASE_URL", None)
    server = os.environ.get("KOMAWARI_TEST_DATABASE_URL")
    if server:
        env["DATABASE_URL"] = server
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "komawari.cli.main",
            "soak",
            "--minutes",
            "0.2",
            "--clients",
            "3",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    report = json.loads(done.stdout)
    assert set(report) >= REQUIRED
    assert report["passed"] is True, json.dumps(report)
    assert done.returncode == 0
    assert report["lost_writes"] == report["duplicates"] == 0
    assert report["idempotency_mismatches"] == report["http_5xx_outside_restart"] == 0
    assert report["credit_double_issues"] == report["credit_double_uses"] == 0
    assert report["doctor_clean"] is True
    assert report["faults_injected"] >= 5
    restart = "pg_connections_reset" if server else "pg_restart"
    assert {"server_kill", "generator_kill", restart, "drop", "restore"} <= set(report["faults"])
    assert report["acknowledged_writes"] > 0
    assert report["restore_refused_naming_servers"] is True


def test_a_scratch_database_loses_its_connections_when_reset_and_is_dropped_at_the_end(
    database_url: str,
) -> None:
    server = make_url(database_url)
    db = Database.scratch(server.render_as_string(hide_password=False))
    try:
        conn = psycopg.connect(db.libpq)
        conn.execute("SELECT 1")
        assert db.restart() == "pg_connections_reset"  # not ours to restart: honest kind
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
        conn.close()
    finally:
        db.close()
    name = make_url(db.url).database
    with psycopg.connect(db.admin_url or "", autocommit=True) as admin:
        gone = admin.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,))
        assert gone.fetchone() == (0,)


def test_errors_are_allowed_only_in_the_windows_of_database_faults() -> None:
    ledger = Ledger(
        errors=[
            ServerError("POST", "/a", 503, 10.5, True),  # PostgreSQL restarting
            ServerError("POST", "/b", 500, 20.5, True),  # the forced restore
            ServerError("GET", "/c", 0, 30.5, True),  # a killed server: no answer
            ServerError("GET", "/d", 503, 30.6, True),  # a 5xx while a server is killed
            ServerError("GET", "/e", 0, 40.0, True),  # nothing disturbed
            ServerError("GET", "/f", 503, 11.2, True, 10.9),  # in flight when it restarted
            ServerError("GET", "/g", 503, 11.2, True, 11.1),  # sent after it was back
        ],
        windows=[
            Window("pg_restart", 10.0, 11.0),
            Window("restore", 20.0, 21.0, backup_started_at=5.0),
            Window("server_kill", 30.0, 31.0),
        ],
    )
    kinds = ledger.classify_errors()
    assert [e.path for e in kinds["database"]] == ["/a", "/b", "/f"]
    assert [e.path for e in kinds["server"]] == ["/c"]
    assert [e.path for e in kinds["outside"]] == ["/d", "/e", "/g"]
