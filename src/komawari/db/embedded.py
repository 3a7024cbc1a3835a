"""The zero set-up database: an embedded PostgreSQL (the `pgserver` package).

Its data folder is kept across runs. A server left running by a crashed process is
found through its `postmaster.pid` and reused; PostgreSQL itself refuses a second
postmaster on the same folder, so there is never a second server on it.

pgserver counts the processes that use a server in `pgdata/.handle_pids.json` and the
last one to exit stops it. A process killed with SIGKILL never removes its entry, so
entries of ended processes are pruned before each start: otherwise nothing would ever
stop that server again.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

from komawari.errors import ConfigurationError

_servers: dict[Path, Any] = {}
HANDLE_FILE = ".handle_pids.json"


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".komawari-write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise ConfigurationError(
            f"KOMAWARI_DATA_DIR: cannot write to {folder} ({exc.strerror}); "
            "set KOMAWARI_DATA_DIR to a writable folder or set DATABASE_URL"
        ) from exc


def embedded_url(pgdata: Path, *, cleanup: str | None = "stop") -> str:
    """Start (or reuse) the embedded server on `pgdata` and return its SQLAlchemy URL."""
    pgdata = pgdata.expanduser().resolve()
    if pgdata in _servers:
        return _url_of(_servers[pgdata])
    _check_writable(pgdata.parent)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("pgserver").setLevel(logging.CRITICAL)
        try:
            import pgserver
        except ImportError as exc:  # pragma: no cover - it is a dependency
            raise ConfigurationError(
                "DATABASE_URL is not set and the embedded server (pgserver) is not "
                "installed; pip install pgserver, or set DATABASE_URL"
            ) from exc
        _prune_stale_handles(pgdata)
        try:
            server = pgserver.get_server(pgdata, cleanup_mode=cleanup)  # type: ignore[attr-defined]
        except Exception as exc:
            log = pgdata / "log"
            tail = log.read_text(errors="replace")[-400:] if log.exists() else str(exc)
            raise ConfigurationError(
                f"KOMAWARI_DATA_DIR: the embedded PostgreSQL in {pgdata} did not start: "
                f"{tail.strip()}"
            ) from exc
    _servers[pgdata] = server
    return _url_of(server)


def stop_embedded(pgdata: Path) -> None:
    """Release this process's handle on the server of `pgdata` (the last one stops it)."""
    server = _servers.pop(pgdata.expanduser().resolve(), None)
    if server is not None:
        server.cleanup()


def _prune_stale_handles(pgdata: Path) -> None:
    """Drop handle entries of processes that have ended, under pgserver's own lock."""
    import psutil
    from pgserver.postgres_server import PostgresServer

    path = pgdata / HANDLE_FILE
    with PostgresServer._lock:
        try:
            pids = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return
        live = [pid for pid in pids if isinstance(pid, int) and _running(pid, psutil)]
        if live != pids:
            path.write_text(json.dumps(live))


def _running(pid: int, psutil: Any) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _url_of(server: Any) -> str:
    uri: str = server.get_uri()
    return uri.replace("postgresql://", "postgresql+psycopg://", 1)


def tools_dir() -> Path | None:
    """Return the folder of the embedded PostgreSQL's client tools, if installed."""
    try:
        import pgserver._commands as commands
    except ImportError:  # pragma: no cover
        return None
    path = Path(commands.POSTGRES_BIN_PATH)
    return path if path.exists() else None
