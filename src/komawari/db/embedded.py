"""The zero set-up database: an embedded PostgreSQL (the `pgserver` package).

Its data folder is kept across runs. A server left running by a crashed process is
found through its `postmaster.pid` and reused; PostgreSQL itself refuses a second
postmaster on the same folder, so there is never a second server on it.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

from komawari.errors import ConfigurationError

_servers: dict[Path, Any] = {}


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
