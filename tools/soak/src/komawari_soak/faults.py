"""The faults the soak injects, each recorded in the ledger as a `Window`.

A server or a generator is SIGKILLed and started again (the generator while it holds the
generation lock: mid-batch); PostgreSQL restarts; clients hang up mid-request; a backup
is taken under load; that backup is restored while the servers run (refused without
`--force`, naming them; with `--force` their sessions are ended first).
"""

from __future__ import annotations

import functools
import json
import random
import socket
import struct
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

from komawari.sessions.sql import GENERATION
from komawari_soak.ledger import Ledger, Window
from komawari_soak.load import Load
from komawari_soak.stack import Stack

# A generator's backend holding the generation lock is inside a batch's transaction.
MID_BATCH = """
SELECT a.application_name
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %(kind)s AND l.objid = 0
   AND a.application_name = %(name)s
"""


@dataclass
class Faults:
    """The fault injector of one soak: what it did, and what it found on the way."""

    stack: Stack
    ledger: Ledger
    load: Load
    rnd: random.Random
    notes: dict[str, Any] = field(default_factory=dict)
    backup: tuple[str, float] | None = None  # the path of the last backup, when it started

    def window(self, kind: str, action: Callable[[], str | None], **extra: Any) -> None:
        """Run `action` and record its window (the action may rename the kind)."""
        started = time.time()
        renamed = None
        try:
            renamed = action()
        finally:  # a fault that failed half-way disturbed the run all the same
            self.ledger.windows.append(Window(renamed or kind, started, time.time(), **extra))

    # -- the faults --------------------------------------------------------------------

    def kill_server(self, n: int) -> None:
        """SIGKILL a server, start it again and wait until it is ready."""
        server = self.stack.servers[n % len(self.stack.servers)]

        def act() -> None:
            server.kill()
            server.restarts += 1
            server.start()
            self.stack.wait_ready(server)

        self.window("server_kill", act)

    def kill_generator(self, n: int, *, wait: float = 30.0) -> None:
        """SIGKILL a generator while it holds the generation lock (mid-batch), restart it."""
        generator = self.stack.generators[n % len(self.stack.generators)]
        name = generator.args[-1]
        mid_batch = False
        deadline = time.monotonic() + wait
        with psycopg.connect(self.stack.database.libpq, autocommit=True) as conn:
            while time.monotonic() < deadline and not mid_batch:
                mid_batch = bool(
                    conn.execute(MID_BATCH, {"kind": GENERATION, "name": name}).fetchall()
                )
                if mid_batch:
                    generator.kill()
                else:
                    time.sleep(0.005)

        def act() -> None:
            generator.kill()  # at once if it was not caught mid-batch
            generator.restarts += 1
            generator.start()

        self.window("generator_kill", act)
        self.notes.setdefault("generator_kills_mid_batch", []).append(mid_batch)

    def restart_database(self) -> None:
        """Restart PostgreSQL (embedded) or end every backend of the scratch database."""
        self.window("pg_restart", self.stack.database.restart)

    def drop_connections(self, count: int = 3) -> None:
        """Hang up mid-request: keyed creates and a half-sent body; then retry the keys."""
        dropped: list[tuple[str, dict[str, Any]]] = []

        def act() -> None:
            for i in range(count):
                body = self.load._new_series(self.rnd)
                key = uuid.uuid4().hex
                self._hang_up(body, key, partial=i == 0)
                dropped.append((key, body))

        self.window("drop", act)
        with httpx.Client(
            headers={"Authorization": f"Bearer {self.load.token}"}, timeout=90.0
        ) as http:
            for key, body in dropped:
                self.load.write(http, "series.create", "POST", "/api/class-series", body, key=key)

    def _hang_up(self, body: dict[str, Any], key: str, *, partial: bool) -> None:
        payload = json.dumps(body).encode()
        server = self.stack.servers[self.rnd.randrange(len(self.stack.servers))]
        port = int(server.args[server.args.index("--port") + 1])
        head = (
            "POST /api/class-series HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {self.load.token}\r\nIdempotency-Key: {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(head + (payload[: len(payload) // 2] if partial else payload))
            time.sleep(self.rnd.uniform(0.0, 0.05))
            # RST, not FIN: the server sees the client gone mid-request.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.ledger.requests += 1

    def take_backup(self) -> None:
        """Run `komawari backup` under load; keep its path for the restore."""
        path = self.stack.folder / "data" / f"soak-{uuid.uuid4().hex[:8]}.dump"
        started = time.time()

        def act() -> None:
            done = self.stack.run("backup", "--json", "--out", str(path))
            if done.returncode != 0:
                raise RuntimeError(f"komawari backup failed: {done.stderr.strip()[-3000:]}")

        self.window("backup", act)
        self.backup = (str(path), started)

    def restore(self) -> None:
        """Restore the last backup while the servers run: refused, then with --force."""
        if self.backup is None:
            self.take_backup()
        assert self.backup is not None
        path, backup_started = self.backup
        refused = self.stack.run("restore", "--yes", path)
        self.notes.setdefault("restore_refused_naming_servers", []).append(
            refused.returncode == 1 and "komawari-serve" in refused.stderr
        )

        def act() -> None:
            self.load.bump_epoch()
            done = self.stack.run("restore", "--yes", "--force", "--json", path)
            self.load.bump_epoch()
            if done.returncode != 0:
                raise RuntimeError(f"komawari restore failed: {done.stderr.strip()[-3000:]}")

        self.window("restore", act, backup_started_at=backup_started)

    # -- the plan ----------------------------------------------------------------------

    def plan(self, seconds: float) -> list[tuple[float, Callable[[], None]]]:
        """Spread the faults over `seconds`: one round per two minutes, at least one."""
        rounds = max(1, round(seconds / 120))
        span = seconds / rounds
        plan: list[tuple[float, Callable[[], None]]] = []
        for r in range(rounds):
            at = r * span
            steps: list[tuple[float, Callable[[], None]]] = [
                (0.08, self.drop_connections),
                (0.18, functools.partial(self.kill_server, r)),
                (0.30, functools.partial(self.kill_generator, r)),
                (0.44, self.restart_database),
                # The restore undoes what was written since its backup: keep that short.
                (0.60, self.take_backup),
                (0.68, self.restore),
            ]
            plan += [(at + f * span, step) for f, step in steps]
        return plan
