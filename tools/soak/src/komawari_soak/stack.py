"""What the soak starts: one PostgreSQL, two servers and two generators, all on loopback.

The database is an embedded PostgreSQL of the soak's own (in a temporary data folder, so
the user's data is never touched) or, with DATABASE_URL, a scratch database made on that
server and dropped at the end. Every child gets DATABASE_URL pointing at it. Everything
started here is stopped by `Stack.stop`, whatever happened before.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

from komawari.db.engine import normalise_url

KOMAWARI = [sys.executable, "-m", "komawari.cli.main"]
GENERATOR = [sys.executable, "-m", "komawari_soak.generator"]
# Generators look further ahead than the servers (whose API creates materialise the
# default horizon at once), so each new series leaves them work: a batch to be killed in.
GENERATOR_HORIZON_DAYS = 180
GENERATOR_BATCH_SIZE = 2
# Materialised, so that this session is left out before any pg_terminate_backend runs.
TERMINATE_OTHERS = """
WITH others AS MATERIALIZED (
    SELECT pid FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid()
)
SELECT pid FROM others WHERE pg_terminate_backend(pid)
"""


def free_port() -> int:
    """Return a TCP port on loopback that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Child:
    """A process the soak started, restartable with the same arguments."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    restarts: int = 0

    def start(self) -> None:
        """Start (or start again) the process; its output goes to its log file."""
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.args,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches the soak, which stops its children
            )

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the process and reap it."""
        if self.alive():
            assert self.popen is not None
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait()

    def stop(self, timeout: float = 20.0, *, signalled: bool = False) -> int | None:
        """SIGTERM (unless `signalled` already), then SIGKILL after `timeout`; return the
        exit code. One SIGTERM only: a second one during the shutdown would kill outright."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            if not signalled:
                self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.popen.returncode


@dataclass
class Database:
    """The one PostgreSQL of the soak: embedded in `folder`, or a scratch database."""

    url: str
    kind: str  # "embedded" or "external"
    pgdata: Path | None = None
    admin_url: str | None = None

    @classmethod
    def embedded(cls, folder: Path) -> Database:
        """Start an embedded PostgreSQL in `folder` (a folder of the soak's own)."""
        from komawari.db.embedded import embedded_url

        pgdata = folder / "pgdata"
        return cls(url=embedded_url(pgdata), kind="embedded", pgdata=pgdata)

    @classmethod
    def scratch(cls, server_url: str) -> Database:
        """Create a scratch database on the server of `server_url`."""
        admin = make_url(normalise_url(server_url))
        name = f"komawari_soak_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(_libpq(admin.set(database="postgres")), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # a name of our own, not input
        url = admin.set(database=name).render_as_string(hide_password=False)
        return cls(url=url, kind="external", admin_url=_libpq(admin.set(database="postgres")))

    @property
    def libpq(self) -> str:
        """Return the URL for psycopg (no SQLAlchemy driver name)."""
        return _libpq(make_url(self.url))

    def restart(self) -> str:
        """Restart PostgreSQL (embedded), or end every backend of the scratch database.

        Return the fault's kind: "pg_restart", or "pg_connections_reset" where the server
        is not ours to restart.
        """
        if self.kind == "embedded":
            self._pg_ctl("-w", "-m", "fast", "restart")
            return "pg_restart"
        with psycopg.connect(self.libpq, autocommit=True) as conn:
            ended = [pid for (pid,) in conn.execute(TERMINATE_OTHERS)]
            # pg_terminate_backend only signals: the fault lasts until they are gone.
            deadline = time.monotonic() + 30
            while ended and time.monotonic() < deadline:
                left = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (ended,)
                ).fetchone()
                if not left or not left[0]:
                    break
                time.sleep(0.02)
        return "pg_connections_reset"

    def close(self) -> None:
        """Stop the embedded server, or drop the scratch database."""
        if self.kind == "embedded" and self.pgdata is not None:
            from komawari.db.embedded import stop_embedded

            # pgserver stops the postmaster it started; after a restart that is another.
            with contextlib.suppress(subprocess.CalledProcessError, OSError):  # stopped
                self._pg_ctl("-w", "-m", "fast", "stop")
            stop_embedded(self.pgdata)
        elif self.admin_url is not None:
            name = make_url(self.url).database
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _pg_ctl(self, *args: str) -> None:
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

        assert self.pgdata is not None
        user = "pgserver" if os.geteuid() == 0 else None  # pgserver runs it so as root
        pg_ctl(list(args), pgdata=self.pgdata, user=user, timeout=120)


def _libpq(url: object) -> str:
    from sqlalchemy.engine import URL

    assert isinstance(url, URL)
    from komawari.ops.backup import connection

    return connection(url)[0]


@dataclass
class Stack:
    """The database, the servers and the generators of one soak."""

    folder: Path
    database: Database
    servers: list[Child] = field(default_factory=list)
    generators: list[Child] = field(default_factory=list)
    owns_folder: bool = True
    # Settings every child gets beside the database's (the notices' receivers).
    extra_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, *, external_url: str | None, folder: Path | None = None) -> Stack:
        """Make the folder and start or create the database."""
        owns = folder is None
        root = Path(tempfile.mkdtemp(prefix="komawari-soak-")) if folder is None else folder
        root.mkdir(parents=True, exist_ok=True)
        try:
            db = Database.scratch(external_url) if external_url else Database.embedded(root)
        except BaseException:
            if owns:
                shutil.rmtree(root, ignore_errors=True)
            raise
        return cls(folder=root, database=db, owns_folder=owns)

    def env(self, **extra: str) -> dict[str, str]:
        """Return a child's environment: this database, this folder, nothing of the user's."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("KOMAWARI_")}
        env.update(
            DATABASE_URL=self.database.url,
            KOMAWARI_DATA_DIR=str(self.folder / "data"),
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        env.update(extra)
        return env

    def start_children(self) -> None:
        """Start two servers (one worker each) and two generators; wait until served."""
        for n in (1, 2):
            port = free_port()
            self.servers.append(
                Child(
                    f"server-{n}",
                    [*KOMAWARI, "serve", "--workers", "1", "--port", str(port)],
                    self.env(KOMAWARI_GENERATION_INTERVAL_MINUTES="1"),
                    self.folder / f"server-{n}.log",
                )
            )
        for n in (1, 2):
            self.generators.append(
                Child(
                    f"generator-{n}",
                    [*GENERATOR, f"komawari-generator-{n}"],
                    self.generator_env(),
                    self.folder / f"generator-{n}.log",
                )
            )
        for child in (*self.servers, *self.generators):
            child.start()
        for server in self.servers:
            self.wait_ready(server)

    def generator_env(self) -> dict[str, str]:
        return self.env(
            KOMAWARI_HORIZON_DAYS=str(GENERATOR_HORIZON_DAYS),
            KOMAWARI_GENERATION_BATCH_SIZE=str(GENERATOR_BATCH_SIZE),
        )

    def url_of(self, server: Child) -> str:
        return f"http://127.0.0.1:{server.args[server.args.index('--port') + 1]}"

    def wait_ready(self, server: Child, timeout: float = 120.0) -> None:
        """Wait until the server answers /readyz (raise if it died or took too long)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not server.alive():
                raise RuntimeError(f"{server.name} exited; see {server.log}")
            try:
                if httpx.get(self.url_of(server) + "/readyz", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{server.name} not ready after {timeout:.0f}s; see {server.log}")

    def run(self, *args: str, timeout: float = 600.0) -> subprocess.CompletedProcess[str]:
        """Run one `komawari` command against this database."""
        return subprocess.run(
            [*KOMAWARI, *args],
            env=self.generator_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def stop_children(self) -> dict[str, int | None]:
        """SIGTERM every server and generator (SIGKILL after a grace); return exit codes."""
        children = [*self.servers, *self.generators]
        for child in children:
            if child.alive():
                assert child.popen is not None
                child.popen.send_signal(signal.SIGTERM)
        return {child.name: child.stop(signalled=True) for child in children}

    def stop(self, *, keep_logs: Path | None = None) -> None:
        """Stop everything started here; remove the folder (logs copied to `keep_logs`)."""
        try:
            self.stop_children()
        finally:
            try:
                self.database.close()
            finally:
                if keep_logs is not None:
                    keep_logs.mkdir(parents=True, exist_ok=True)
                    for log in self.folder.glob("*.log"):
                        shutil.copy(log, keep_logs / log.name)
                if self.owns_folder:
                    shutil.rmtree(self.folder, ignore_errors=True)
