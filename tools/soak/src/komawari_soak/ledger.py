"""What the soak's clients saw: every acknowledged write, replay and 5xx, and the fault windows.

The load records here; the checks (`soak.checks`) read it after the run and compare it with
the database using SQL of their own. Times are wall-clock seconds (`time.time()`), so that
they can be compared across processes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

JSON = Any


@dataclass(frozen=True)
class Ack:
    """One write that got a 2xx: what was asked and what was answered."""

    op: str  # e.g. "series.create", "session.cancel", "closure.create"
    method: str
    path: str
    status: int
    body: JSON  # the request's JSON body, or None
    response: JSON  # the response's JSON body, or None
    key: str | None  # the Idempotency-Key sent, if any
    sent_at: float
    acked_at: float


@dataclass(frozen=True)
class Replay:
    """A keyed request sent again: the first answer and the replayed one."""

    key: str
    path: str
    first_status: int
    first: JSON
    replay_status: int
    replay: JSON


@dataclass(frozen=True)
class ServerError:
    """A 5xx (or a dropped connection the soak did not cause) and whether its retry succeeded."""

    method: str
    path: str
    status: int  # 0 when the connection failed without an answer
    at: float
    retried_ok: bool
    # When the failed attempt was sent (`at` is when it failed): a request in flight when
    # a fault began fails with it, even if the failure is seen after the fault's window.
    sent_at: float | None = None
    # What went wrong: the problem type of a 5xx, or the client's error for a lost answer.
    error: str | None = None


@dataclass(frozen=True)
class Window:
    """A span of time the soak disturbed on purpose."""

    kind: str  # "pg_restart", "restore", "server_kill", "generator_kill", "backup", "drop"
    started_at: float
    ended_at: float
    # For a restore: when the backup it restores was started. Writes acknowledged between
    # then and `ended_at` may be rolled back by design.
    backup_started_at: float | None = None


# Faults during which a 5xx or a lost connection is expected (each must be retried):
# the database went away, or the restore ended the servers' sessions.
DATABASE_FAULTS = ("pg_restart", "pg_connections_reset", "restore")
# A lost connection (no answer, never a 5xx) is expected while a server is being killed.
SERVER_FAULTS = ("server_kill", "drop")


@dataclass
class Ledger:
    acks: list[Ack] = field(default_factory=list)
    replays: list[Replay] = field(default_factory=list)
    errors: list[ServerError] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    requests: int = 0

    def rolled_back_by_design(self, ack: Ack) -> bool:
        """Whether a restore may have undone this write (acknowledged after its backup began)."""
        return any(
            w.kind == "restore"
            and w.backup_started_at is not None
            and w.backup_started_at <= ack.acked_at
            and ack.sent_at <= w.ended_at
            for w in self.windows
        )

    def error_in_window(self, error: ServerError, *kinds: str) -> bool:
        """Whether the failed attempt was in flight during a window of one of `kinds`."""
        sent = error.at if error.sent_at is None else error.sent_at
        return any(
            w.kind in kinds and sent <= w.ended_at and w.started_at <= error.at
            for w in self.windows
        )

    def classify_errors(self) -> dict[str, list[ServerError]]:
        """Sort the 5xx and lost connections: allowed in a fault window, or `outside`."""
        kinds: dict[str, list[ServerError]] = {"database": [], "server": [], "outside": []}
        for error in self.errors:
            if self.error_in_window(error, *DATABASE_FAULTS):
                kinds["database"].append(error)
            elif error.status == 0 and self.error_in_window(error, *SERVER_FAULTS):
                kinds["server"].append(error)
            else:
                kinds["outside"].append(error)
        return kinds

    def dump(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Ledger:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            acks=[Ack(**a) for a in raw["acks"]],
            replays=[Replay(**r) for r in raw["replays"]],
            errors=[ServerError(**e) for e in raw["errors"]],
            windows=[Window(**w) for w in raw["windows"]],
            requests=raw["requests"],
        )
