"""The embedded database is reused across runs and stopped cleanly when Komawari stops."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Each test starts an embedded server of its own, whatever database the suite uses.
pytestmark = pytest.mark.ci_suite("embedded")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data_dir: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "KOMAWARI_DATABASE_URL"}
    }
    return env | {"KOMAWARI_DATA_DIR": str(data_dir), "KOMAWARI_GENERATION_INTERVAL_MINUTES": "0"}


def _start(command: list[str], data_dir: Path, port: int) -> subprocess.Popen[str]:
    """Start a server command in its own process group; return once its port answers."""
    proc = subprocess.Popen(
        command,
        env=_env(data_dir),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"the server did not start: {proc.communicate()[0][-2000:]}")


def _postmaster(data_dir: Path) -> int:
    return int((data_dir / "pgdata" / "postmaster.pid").read_text().split()[0])


def _assert_stopped(data_dir: Path, postmaster: int, output: str = "") -> None:
    # A loaded machine (CI runs the suite beside the embedded test server) can take
    # seconds to finish a shutdown checkpoint: wait up to a minute before judging.
    pid_file = data_dir / "pgdata" / "postmaster.pid"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not pid_file.exists() and not _alive(postmaster):
            return
        time.sleep(0.2)
    if _alive(postmaster):
        os.kill(postmaster, signal.SIGKILL)  # leave no server behind for later tests
    handles = data_dir / "pgdata" / ".handle_pids.json"
    listed = handles.read_text() if handles.exists() else "(no handle file)"
    raise AssertionError(
        f"the embedded server was left running; handles {listed}; output:\n{output[-3000:]}"
    )


def _serve(port: int) -> list[str]:
    return [sys.executable, "-m", "komawari.cli.main", "serve", "--port", str(port)]


def test_serve_stops_its_embedded_database_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    proc = _start(_serve(port), tmp_path, port)
    postmaster = _postmaster(tmp_path)
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=90)
    assert "Traceback" not in output
    _assert_stopped(tmp_path, postmaster, output)


def test_a_killed_server_s_database_is_stopped_by_the_next_one(tmp_path: Path) -> None:
    # SIGKILL leaves the killed process in pgserver's handle file; unless that stale entry
    # is pruned, the next server's clean stop leaves the database running for good.
    port = free_port()
    killed = _start(_serve(port), tmp_path, port)
    postmaster = _postmaster(tmp_path)
    killed.kill()
    killed.communicate(timeout=30)
    port = free_port()
    proc = _start(_serve(port), tmp_path, port)
    assert _postmaster(tmp_path) == postmaster, "the running database was reused"
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=60)
    assert "Traceback" not in output
    _assert_stopped(tmp_path, postmaster, output)


@pytest.mark.parametrize(
    "how", ["sigterm-to-dev-py", "ctrl-c-to-the-group"], ids=["sigterm", "ctrl-c"]
)
def test_dev_py_run_hands_signals_to_the_server(tmp_path: Path, how: str) -> None:
    port = free_port()
    proc = _start([sys.executable, "dev.py", "run", "--port", str(port)], tmp_path, port)
    postmaster = _postmaster(tmp_path)
    if how == "sigterm-to-dev-py":
        proc.send_signal(signal.SIGTERM)  # to dev.py alone, as a supervisor would
    else:
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output[-2000:]
    assert "Traceback" not in output
    assert "KeyboardInterrupt" not in output
    _assert_stopped(tmp_path, postmaster, output)


@pytest.mark.parametrize("how", ["sigterm", "ctrl-c"])
def test_serve_with_workers_stops_every_worker_and_the_database(tmp_path: Path, how: str) -> None:
    port = free_port()
    command = [*_serve(port), "--workers", "2"]
    proc = _start(command, tmp_path, port)
    postmaster = _postmaster(tmp_path)
    deadline = time.monotonic() + 60
    while len(workers := _workers(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(workers) >= 2, workers
    if how == "sigterm":
        proc.send_signal(signal.SIGTERM)
    else:
        os.killpg(proc.pid, signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output[-2000:]
    assert "Traceback" not in output
    assert "2 worker processes" in output
    _assert_stopped(tmp_path, postmaster)
    assert [pid for pid in workers if _alive(pid)] == []


def test_workers_end_when_serve_is_killed(tmp_path: Path) -> None:
    port = free_port()
    proc = _start([*_serve(port), "--workers", "2"], tmp_path, port)
    deadline = time.monotonic() + 60
    while len(workers := _workers(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(workers) >= 2, workers
    proc.kill()  # no chance to stop its workers itself
    proc.communicate(timeout=60)  # returns once every worker has closed its output
    deadline = time.monotonic() + 30
    while [pid for pid in workers if _alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [pid for pid in workers if _alive(pid)] == []
    port = free_port()  # the next server stops the database the killed one left
    postmaster = _postmaster(tmp_path)
    nxt = _start(_serve(port), tmp_path, port)
    nxt.send_signal(signal.SIGTERM)
    nxt.communicate(timeout=60)
    _assert_stopped(tmp_path, postmaster)


def _workers(parent: int) -> list[int]:
    """Return the pids of the uvicorn workers started by `parent`."""
    import psutil

    return [
        p.pid
        for p in psutil.Process(parent).children()
        if "multiprocessing" in " ".join(p.cmdline()) and "spawn_main" in " ".join(p.cmdline())
    ]


def _alive(pid: int) -> bool:
    """Tell whether `pid` runs (a zombie left to a non-reaping init has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"
