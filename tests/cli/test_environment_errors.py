"""Bad environments get one clear line naming the setting, exit code 2, and no traceback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

KOMAWARI = [sys.executable, "-m", "komawari.cli.main"]


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "KOMAWARI_DATABASE_URL", "KOMAWARI_DATA_DIR"}
    }
    environ.update(env)
    return subprocess.run(
        [*KOMAWARI, *args], capture_output=True, text=True, env=environ, timeout=120, check=False
    )


def _assert_clear(done: subprocess.CompletedProcess[str], *words: str) -> None:
    text = done.stdout + done.stderr
    assert done.returncode == 2, text
    assert "Traceback" not in text
    for word in words:
        assert word in text, text


def test_an_unreachable_database_url_is_one_clear_line() -> None:
    done = _run(["db", "status"], DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    _assert_clear(done, "DATABASE_URL", "cannot reach")


@pytest.mark.parametrize("url", ["not a url", "mysql://root@localhost/x"])
def test_a_malformed_database_url_is_one_clear_line(url: str) -> None:
    _assert_clear(_run(["db", "status"], DATABASE_URL=url), "DATABASE_URL")


def test_an_unwritable_data_folder_is_one_clear_line(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    done = _run(["db", "status"], KOMAWARI_DATA_DIR=str(blocked / "komawari"))
    _assert_clear(done, "KOMAWARI_DATA_DIR")


@pytest.mark.parametrize("zone", ["Mars/Olympus", "localtime", "posix/Asia/Tokyo"])
def test_a_bad_default_time_zone_is_named(zone: str) -> None:
    done = _run(
        ["db", "status"],
        KOMAWARI_DEFAULT_TIMEZONE=zone,
        DATABASE_URL="postgresql://nobody@127.0.0.1:1/none",
    )
    _assert_clear(done, "default_timezone")


def test_a_port_in_use_is_one_clear_line(database_url: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = _run(["serve", "--port", str(port)], DATABASE_URL=database_url)
    _assert_clear(done, "--port", "in use")


def test_a_server_left_by_a_crashed_process_is_reused(tmp_path: Path) -> None:
    pgdata = tmp_path / "pgdata"
    crash = (
        "import os, signal, sys; from pathlib import Path;"
        "from komawari.db.embedded import embedded_url; embedded_url(Path(sys.argv[1]));"
        "os.kill(os.getpid(), signal.SIGKILL)"
    )
    done = subprocess.run([sys.executable, "-c", crash, str(pgdata)], timeout=120, check=False)
    assert done.returncode == -signal.SIGKILL
    first_pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    os.kill(first_pid, 0)  # the orphaned server is still running
    try:
        reuse = (
            "import sys; from pathlib import Path; from sqlalchemy import create_engine, text;"
            "from komawari.db.embedded import embedded_url;"
            "e = create_engine(embedded_url(Path(sys.argv[1])));"
            "e.connect().execute(text('SELECT 1'));"
            "print(Path(sys.argv[1], 'postmaster.pid').read_text().split()[0])"
        )
        again = subprocess.run(
            [sys.executable, "-c", reuse, str(pgdata)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert again.returncode == 0, again.stderr
        assert "Traceback" not in again.stderr
        # The orphaned server was found and reused: no second server on the folder.
        assert int(again.stdout.split()[-1]) == first_pid
    finally:
        os.kill(first_pid, signal.SIGTERM)
        for _ in range(100):
            try:
                os.kill(first_pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
