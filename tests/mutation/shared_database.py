"""A pytest plugin for mutmut's runs: each run borrows a migrated database from a pool.

mutmut runs the selected tests once per mutant, each run a new pytest session, and making,
migrating and dropping a database per session costs seconds, more than most tests. So
run_python makes a small pool of migrated databases before mutmut starts (their URLs in
KOMAWARI_MUTANTS_DATABASES, lock files in KOMAWARI_MUTANTS_LOCKS) and drops them after.
A run takes the first database no other live run holds (an exclusive lock on its file,
released when the run's process ends), empties it, and it becomes `database_url`. Each
test still rolls back or empties the tables itself, as in tests/conftest.py. Without
those variables this plugin does nothing.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import create_engine, text

from komawari.db import guards
from komawari.db.registry import Base

_claimed: dict[int, str] = {}  # process id -> the database it holds
_locks: list[IO[str]] = []  # kept open for the life of the process


def _claim(urls: list[str], folder: Path) -> str:
    """Return the URL of a database no other live process holds, waiting for one."""
    if os.getpid() in _claimed:
        return _claimed[os.getpid()]
    while True:
        for i, url in enumerate(urls):
            handle = (folder / f"{i}.lock").open("w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            _locks.append(handle)
            _claimed[os.getpid()] = url
            return url
        time.sleep(0.05)


def _empty(url: str) -> None:
    """Empty every table and put back any guard a killed run left dropped."""
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    states = guards.guard_states(engine)
    with engine.begin() as conn:
        for guard in guards.GUARDS:
            if states[guard.name] != "ok":
                conn.execute(text(guard.ddl))
    engine.dispose()


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef: Any, request: Any) -> str | None:
    """Answer `database_url` with a pooled database instead of a new one."""
    urls = os.environ.get("KOMAWARI_MUTANTS_DATABASES")
    if not urls or fixturedef.argname != "database_url":
        return None
    url = _claim(urls.split(), Path(os.environ["KOMAWARI_MUTANTS_LOCKS"]))
    _empty(url)
    fixturedef.cached_result = (url, fixturedef.cache_key(request), None)
    return url
