"""Backups with pg_dump (custom format), verified with pg_restore --list; restore.

The client tools come from the embedded server's folder or PATH, whichever is the newest
major version (a newer pg_dump dumps an older server; an archive needs a pg_restore at
least as new as the pg_dump that wrote it). The password travels in PGPASSWORD, never on
the command line.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from psycopg.conninfo import make_conninfo
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from komawari.db.embedded import tools_dir
from komawari.errors import ConfigurationError, InvalidInput

# A Komawari backup is recognised by its tables.
KOMAWARI_TABLES = frozenset(
    {"alembic_version", "branches", "class_series", "class_sessions", "audit_events"}
)
WHERE_TO_GET = (
    "install the PostgreSQL client tools (Debian/Ubuntu: `apt install postgresql-client`; "
    "macOS: `brew install libpq`; or `pip install pgserver`, which ships them) and make "
    "sure {name} is on PATH"
)
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)")
_TABLE = re.compile(r"^\d+; \d+ \d+ TABLE (\S+) (\S+) ", re.MULTILINE)


@dataclass(frozen=True)
class Tool:
    """A PostgreSQL client program and its major version."""

    path: str
    major: int


@dataclass
class Archive:
    """What pg_restore --list says about a backup file."""

    path: Path
    tables: set[str]
    header: dict[str, str] = field(default_factory=dict)

    @property
    def is_komawari(self) -> bool:
        """Return whether the archive holds Komawari's tables."""
        return self.tables >= KOMAWARI_TABLES

    @property
    def dumper_major(self) -> int:
        """Return the major version of the pg_dump that wrote it (0 when unknown)."""
        match = re.match(r"(\d+)", self.header.get("Dumped by pg_dump version", ""))
        return int(match[1]) if match else 0


def _major(path: str) -> int | None:
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    match = _VERSION.search(done.stdout)
    return int(match[1]) if done.returncode == 0 and match else None


def client_tool(name: str, *, search: Sequence[Path] | None = None) -> Tool:
    """Find the newest `pg_dump` or `pg_restore` (embedded folder, then PATH, or `search`)."""
    if search is None:
        embedded = tools_dir()
        folders = [embedded] if embedded else []
        candidates = [str(f / name) for f in folders if (f / name).exists()]
        on_path = shutil.which(name)
        candidates += [on_path] if on_path else []
    else:
        candidates = [str(f / name) for f in search if (f / name).exists()]
    found = [Tool(c, m) for c in dict.fromkeys(candidates) if (m := _major(c)) is not None]
    if not found:
        raise ConfigurationError(f"{name} not found: " + WHERE_TO_GET.format(name=name))
    return max(found, key=lambda t: t.major)  # the first of the newest on a tie


def connection(url: URL) -> tuple[str, dict[str, str]]:
    """Return a libpq connection string for `url` and the environment carrying the password."""
    params: dict[str, str] = {}
    for key, value in url.query.items():
        params[key] = ",".join(value) if isinstance(value, tuple) else str(value)
    if url.host:
        params["host"] = url.host
    if url.port:
        params["port"] = str(url.port)
    if url.username:
        params["user"] = url.username
    params["dbname"] = url.database or "postgres"
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return make_conninfo(**params), env


def server_major(engine: Engine) -> int:
    """Return the server's major version."""
    with engine.connect() as conn:
        return int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000


def _run(args: list[str], env: dict[str, str], what: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise ConfigurationError(f"{what} failed: {_reason(done.stderr)}")
    return done.stdout


def _reason(stderr: str) -> str:
    """Return the server's error of a failed client tool, else its last line."""
    lines = [ln.strip() for ln in stderr.strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if "ERROR:" in ln]
    # pg_restore ends with "Command was: ..."; the reason is the line with ERROR before it.
    return errors[0] if errors else (lines[-1] if lines else "no message")


def _header(listing: str) -> dict[str, str]:
    """Read the comment lines atop a `pg_restore --list` (`; Key: value`)."""
    header: dict[str, str] = {}
    created = "Archive created at "
    for line in listing.splitlines():
        body = line[1:].strip() if line.startswith(";") else ""
        if body.startswith(created):
            header[created.strip()] = body[len(created) :]
        elif ":" in body:
            key, value = body.split(":", 1)
            header[key.strip()] = value.strip()
    return header


def inspect(path: Path, *, search: Sequence[Path] | None = None) -> Archive:
    """Read a backup's table of contents; refuse a file that is not a custom-format dump."""
    if not path.is_file():
        raise InvalidInput("path", f"{path} does not exist or is not a file")
    tool = client_tool("pg_restore", search=search)
    # Absolute, so a file named like an option (`./-x`) is never read as one.
    done = subprocess.run(
        [tool.path, "--list", "--", str(path.absolute())], capture_output=True, text=True
    )
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "unreadable"
        raise InvalidInput("path", f"{path} is not a readable pg_dump archive ({reason})")
    header = _header(done.stdout)
    tables = {name for schema_name, name in _TABLE.findall(done.stdout) if schema_name != "DATA"}
    return Archive(path, tables, header)


def check(path: Path, *, search: Sequence[Path] | None = None) -> Archive:
    """Read a backup's table of contents; refuse a file that is not a Komawari backup."""
    archive = inspect(path, search=search)
    if not archive.is_komawari:
        missing = ", ".join(sorted(KOMAWARI_TABLES - archive.tables))
        raise InvalidInput("path", f"{path} is not a Komawari backup (no {missing})")
    return archive


def default_path(folder: Path, now: datetime | None = None) -> Path:
    """Return a new file name komawari_backup_YYYYMMDD_HHMMSS.dump in `folder`."""
    stamp = (now or datetime.now()).strftime("%Y%m%d_%H%M%S")
    path, n = folder / f"komawari_backup_{stamp}.dump", 1
    while path.exists():  # two backups within one second
        n += 1
        path = folder / f"komawari_backup_{stamp}_{n}.dump"
    return path


def _private_folder(folder: Path) -> None:
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for path in reversed(missing):
        path.mkdir(mode=0o700, exist_ok=True)
        path.chmod(0o700)  # whatever the umask


def backup(
    engine: Engine,
    *,
    folder: Path,
    out: Path | None = None,
    search: Sequence[Path] | None = None,
) -> Archive:
    """Dump the database (custom format) to `out` or a new file in `folder`; verify it.

    Backups hold password and token hashes, feed keys and student data: the file is 0600
    and a folder made for it 0700.
    """
    tool = client_tool("pg_dump", search=search)
    major = server_major(engine)
    if tool.major < major:
        raise ConfigurationError(
            f"pg_dump {tool.major} ({tool.path}) cannot dump a PostgreSQL {major} server; "
            + WHERE_TO_GET.format(name=f"pg_dump {major} or later")
        )
    if out is not None and out.exists():
        raise InvalidInput("--out", f"{out} already exists; choose another file name")
    target = out or default_path(folder)
    _private_folder(target.parent)
    partial = target.with_name(target.name + ".partial")
    conninfo, env = connection(engine.url)
    try:
        # Made 0600 before pg_dump writes into it, so the data is never readable by others.
        partial.unlink(missing_ok=True)
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        _run(
            [tool.path, "--format=custom", "--no-password", f"--file={partial}", conninfo],
            env,
            "pg_dump",
        )
        archive = inspect(partial, search=search)
        if not archive.is_komawari:
            raise ConfigurationError(
                f"the dump of {engine.url.database} holds no Komawari tables; "
                "is DATABASE_URL the right database?"
            )
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    archive.path = target
    return archive


@dataclass(frozen=True)
class Connected:
    """Another session connected to the database: who, from where, since when."""

    pid: int
    application: str
    address: str
    since: datetime


# Client sessions other than this one; the server's own workers are not listed.
_OTHERS = """
SELECT pid, application_name, coalesce(host(client_addr), 'local socket'), backend_start
  FROM pg_stat_activity
 WHERE datname = current_database() AND pid <> pg_backend_pid()
   AND backend_type = 'client backend'
 ORDER BY backend_start, pid
"""
_END = "SELECT pg_terminate_backend(pid) FROM unnest(CAST(:pids AS int[])) AS pid"


def others_connected(engine: Engine) -> list[Connected]:
    """Return the other sessions connected to the engine's database (ours are closed first)."""
    engine.dispose()  # this process's idle connections are not "others"
    with engine.connect() as conn:
        return [
            Connected(int(p), a or "?", addr, since)
            for p, a, addr, since in conn.execute(text(_OTHERS))
        ]


def end_sessions(engine: Engine, sessions: Sequence[Connected]) -> None:
    """End the given sessions (their transactions roll back)."""
    with engine.begin() as conn:
        conn.execute(text(_END), {"pids": [s.pid for s in sessions]})
    engine.dispose()


RESTORE_APPLICATION = "komawari-restore"  # the restore's session in pg_stat_activity
RESTORE_DEADLOCK_TIMEOUT = "10s"  # above the server's default (1s), below lock_timeout
RESTORE_ATTEMPTS = 3
_PRESENT = """
SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
 WHERE schemaname = 'public' AND tablename = ANY(:names) ORDER BY tablename
"""


def _superuser(engine: Engine) -> bool:
    """Tell whether the engine's role may set deadlock_timeout (a superuser's setting)."""
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT current_setting('is_superuser') = 'on'")).scalar())


def restore(engine: Engine, path: Path, *, search: Sequence[Path] | None = None) -> Archive:
    """Replace the database's Komawari tables with the backup's, in one transaction.

    The transaction first locks every table it replaces, in one statement, then runs the
    backup's script (pg_restore to SQL, fed to psql). Sessions that reconnect meanwhile
    (servers whose connections a forced restore ended) wait for it; taking the tables
    one by one while they run would deadlock with them, and the restore could lose.
    """
    archive = check(path, search=search)
    tool = client_tool("pg_restore", search=search)
    if tool.major < archive.dumper_major:
        raise ConfigurationError(
            f"pg_restore {tool.major} cannot read a backup written by pg_dump "
            f"{archive.dumper_major}; " + WHERE_TO_GET.format(name="a newer pg_restore")
        )
    psql = client_tool("psql", search=search)
    conninfo, env = connection(engine.url)
    # Fail rather than wait for ever behind a long transaction that holds a table.
    # The restore's rows tell nobody anything (the triggers that write notices read this).
    options = " -c lock_timeout=60s -c komawari.notices=off"
    if _superuser(engine):
        # A deadlock aborts whichever session waited deadlock_timeout first: let it be a
        # reconnecting request's (its client retries), not the restore's.
        options += f" -c deadlock_timeout={RESTORE_DEADLOCK_TIMEOUT}"
    env["PGOPTIONS"] = (env.get("PGOPTIONS", "") + options).strip()
    env["PGAPPNAME"] = RESTORE_APPLICATION
    with engine.connect() as conn:
        tables = list(conn.execute(text(_PRESENT), {"names": sorted(archive.tables)}).scalars())
    lock = f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE" if tables else "SELECT 1"
    engine.dispose()  # no idle connection of ours keeps an old plan or a lock
    # --clean makes branch_versions again, in the restore's transaction: its new object id
    # is the epoch of the schedules' ETags (`branches/versions.py`), so no tag served
    # before the restore names the restored counters.
    for attempt in range(1, RESTORE_ATTEMPTS + 1):
        try:
            _replay(tool, psql, conninfo, env, path, lock)
            break
        except ConfigurationError as exc:  # one transaction: a failed attempt changed nothing
            if "deadlock detected" not in str(exc) or attempt == RESTORE_ATTEMPTS:
                raise
    return archive


def _replay(
    tool: Tool, psql: Tool, conninfo: str, env: dict[str, str], path: Path, lock: str
) -> None:
    """Run the archive's script through psql in one transaction that begins with `lock`."""
    script_args = [tool.path, "--clean", "--if-exists", "--no-owner", "--no-privileges"]
    with tempfile.TemporaryFile() as errors:
        script = subprocess.Popen(
            [*script_args, "--file=-", "--", str(path.absolute())],
            stdout=subprocess.PIPE,
            stderr=errors,
            env=env,
        )
        assert script.stdout is not None
        try:
            done = subprocess.run(
                [
                    psql.path,
                    "-X",
                    "-q",
                    "--no-password",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "--single-transaction",
                    "-c",
                    lock,
                    "-f",
                    "-",
                    f"--dbname={conninfo}",
                ],
                stdin=script.stdout,
                capture_output=True,
                text=True,
                env=env,
            )
        finally:
            script.stdout.close()
            script.wait()
        # psql's error first: when it stops, pg_restore dies of the closed pipe, saying nothing.
        if done.returncode != 0:
            raise ConfigurationError(f"restore failed: {_reason(done.stderr)}")
        errors.seek(0)
        if script.returncode != 0:
            raise ConfigurationError(f"pg_restore failed: {_reason(errors.read().decode())}")
