"""The embedded database is reused across runs and stopped cleanly when Komawari stops."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_stops_its_embedded_database_on_sigterm(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "KOMAWARI_DATABASE_URL"}
    }
    env |= {"KOMAWARI_DATA_DIR": str(tmp_path), "KOMAWARI_GENERATION_INTERVAL_MINUTES": "0"}
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "komawari.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    pid_file = tmp_path / "pgdata" / "postmaster.pid"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        assert pid_file.exists()
        postmaster = int(pid_file.read_text().split()[0])
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    assert "Traceback" not in output
    for _ in range(100):
        if not pid_file.exists():
            break
        time.sleep(0.1)
    assert not pid_file.exists(), "the embedded server was left running"
    assert not _alive(postmaster), "the postmaster is still running"


def _alive(pid: int) -> bool:
    """Tell whether `pid` runs (a zombie left to a non-reaping init has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"
