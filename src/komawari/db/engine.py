"""Engines, sessions and the one transaction per unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

import komawari.db.registry  # noqa: F401 - every mapper known, whatever the entry point
from komawari.config import Settings, get_settings
from komawari.errors import ConfigurationError

# A transaction PostgreSQL aborted only for its timing: a serialization failure, a deadlock.
# Run again from the start, it sees what the other committed and goes through.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})


def transient_state(exc: BaseException) -> str | None:
    """Return the SQLSTATE if `exc` aborted a transaction that may simply run again."""
    state = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return state if isinstance(exc, DBAPIError) and state in TRANSIENT_SQLSTATES else None


def resolve_url(settings: Settings) -> str:
    """Return the SQLAlchemy URL: DATABASE_URL, or the embedded server's."""
    if settings.database_url:
        return normalise_url(settings.database_url)
    from komawari.db.embedded import embedded_url

    return embedded_url(settings.pgdata_dir)


def normalise_url(raw: str) -> str:
    """Check a PostgreSQL URL and make it use psycopg 3."""
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise ConfigurationError(
            "DATABASE_URL: not a database URL; expected postgresql://user@host:port/dbname"
        ) from exc
    if url.get_backend_name() not in {"postgresql", "postgres"}:
        raise ConfigurationError(
            f"DATABASE_URL: Komawari needs PostgreSQL, got {url.get_backend_name()!r}; "
            "expected postgresql://user@host:port/dbname"
        )
    return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


_application = {"name": "komawari-cli"}


def name_connections(name: str) -> None:
    """Name this process's connections (pg_stat_activity's application_name) from now on."""
    _application["name"] = name


def connect_args() -> dict[str, object]:
    """Return the arguments of every connection Komawari opens.

    No server-side prepared statements (psycopg prepares after 5 executions): a plan
    prepared before a restore would outlive the tables it was planned for and fail with
    "cached plan must not change result type".
    """
    return {"application_name": _application["name"], "prepare_threshold": None}


def make_engine(url: str, **kwargs: object) -> Engine:
    """Create an engine for `url` and prove it reaches the server."""
    engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args(), **kwargs)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        safe = make_url(url).render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ConfigurationError(
            f"DATABASE_URL: cannot reach {safe}: {reason}; check the URL and that the "
            "server is running, or unset DATABASE_URL to use the embedded database"
        ) from exc
    return engine


@lru_cache
def get_engine() -> Engine:
    """Return the process-wide engine, starting the embedded server if needed."""
    return make_engine(resolve_url(get_settings()))


@lru_cache
def _factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """Open one transaction: commit when the block ends, roll back on error."""
    session = _factory(engine or get_engine())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


_migrated: set[str] = set()


def ready_engine() -> Engine:
    """Return the engine with the schema migrated to head (done once per process)."""
    from komawari.db import migrate

    engine = get_engine()
    key = engine.url.render_as_string(hide_password=True)
    if key not in _migrated:
        migrate.upgrade(engine)
        _migrated.add(key)
    return engine
