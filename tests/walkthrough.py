"""A newcomer's walk-through: every command of docs/api.md and docs/operations.md, as written,
against a served demo school on a scratch database.

    python3 dev.py walkthrough [--fresh] [--database-url SERVER_URL]

The commands are read from the docs' code blocks (console, sh and plain blocks; not json,
sql or nginx), so the docs cannot drift from what runs. Each runs in bash, in the
checkout, in order, sharing one shell state (what `export` sets stays set), with stdin
closed (a question is answered by end of input), `HOME` in a scratch folder (so `~` and
the default data folder are scratch too) and `.venv/bin` off `PATH` until the docs put it
there. The docs' placeholders are filled in: the server's address for
`http://127.0.0.1:8000`, the demo admin token for `kmw_...`. `komawari serve --demo` is
started in the background on a free port; a curl example's `# -> NNN` is the status it
must answer (read through a scratch `.curlrc`), and `sets VAR from .field` sets VAR. A
block that cannot run as written is preceded in the doc by
`<!-- walkthrough: skip: <reason> -->`.

It fails, naming the doc, line and command, when a command prints a traceback, a curl
answers another status than the doc's or a 5xx, a command exits other than 0 or 1
(problems found, or a refusal) or 2 where its comment says `exit 2` (bad input the docs
show on purpose), or the server logs a traceback or a 5xx.

With `--database-url` (a server URL) a scratch database is made on that server and
dropped at the end; without it Komawari's embedded PostgreSQL runs in the scratch folder.
`--fresh` first clones the checkout's HEAD into the scratch folder and does the README's
set-up there (`python3 dev.py setup`: a new .venv), then walks through that clone.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("docs/api.md", "docs/operations.md")
RUNNABLE = {"", "sh", "console"}  # fenced blocks whose lines are shell commands
FENCE = re.compile(r"^```(\w*)\s*$")
SKIP = re.compile(r"<!--\s*walkthrough:\s*skip:\s*(.+?)\s*-->")
EXPECT = re.compile(r"^# -> (\d{3})(?:, sets (\w+) from \.(\w+))?$")
STATUS = "@@komawari-walkthrough-status "
LEGAL_EXITS = (0, 1, 2)
COMMAND_TIMEOUT = 120


@dataclass
class Command:
    """One command of a doc, as written, and what it must answer."""

    doc: str
    line: int
    text: str
    status: int | None = None  # a curl example's documented status
    sets: tuple[str, str] | None = None  # (variable, JSON field)
    skip: str | None = None  # why it is not run, from the doc

    def where(self) -> str:
        """Return doc:line and the command's first line."""
        return f"{self.doc}:{self.line}: {self.text.splitlines()[0]}"


@dataclass
class Outcome:
    command: Command
    problems: list[str] = field(default_factory=list)
    skipped: bool = False
    seconds: float = 0.0


def commands(root: Path, doc: str) -> list[Command]:
    """Return the shell commands of a doc's runnable code blocks, in order."""
    found: list[Command] = []
    lines = (root / doc).read_text(encoding="utf-8").splitlines()
    skip: str | None = None
    block: str | None = None
    pending: Command | None = None
    for number, raw in enumerate(lines, start=1):
        fence = FENCE.match(raw)
        if block is None:
            if fence:
                block = fence[1]
            elif (marker := SKIP.search(raw)) is not None:
                skip = marker[1]
            elif raw.strip():
                skip = None  # a marker applies to the block right after it
            continue
        if fence and not fence[1]:  # the block ends
            block, skip = None, None
            continue
        if block not in RUNNABLE:
            continue
        text = raw[2:] if block == "console" and raw.startswith("$ ") else raw
        if pending is not None:  # a continued line
            pending.text += "\n" + text
        elif expect := EXPECT.match(text.strip()):
            found[-1].status = int(expect[1])
            found[-1].sets = (expect[2], expect[3]) if expect[2] else None
            continue
        elif text.strip() and not text.lstrip().startswith("#"):
            pending = Command(doc, number, text, skip=skip)
            found.append(pending)
        if pending is not None and complete(pending.text):
            pending = None
    return found


def complete(text: str) -> bool:
    """Tell whether a command's text ends (no trailing backslash, no open quote)."""
    if text.endswith("\\"):
        return False
    try:
        shlex.split(text, comments=True)
    except ValueError:  # a quote still open: the command goes on, as in bash
        return False
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Walk:
    """The shell state, the server and the scratch folder of one walk-through."""

    def __init__(self, root: Path, scratch: Path, database_url: str | None) -> None:
        self.root, self.scratch = root, scratch
        self.home = scratch / "home"
        self.home.mkdir()
        (self.home / ".curlrc").write_text(f'write-out = "\\n{STATUS}%{{http_code}}\\n"\n')
        path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if ".venv" not in p]
        keep = {k: v for k, v in os.environ.items() if k in ("LANG", "LC_ALL", "TERM", "TZ")}
        self.env = {
            **keep,
            "PATH": os.pathsep.join(path) or "/usr/bin:/bin",
            "HOME": str(self.home),
            "CURL_HOME": str(self.home),
            "KOMAWARI_GENERATION_INTERVAL_MINUTES": "0",
            "NO_COLOR": "1",
        }
        if database_url:
            self.env["DATABASE_URL"] = database_url
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.token = ""
        self.server: subprocess.Popen[bytes] | None = None
        self.server_log = scratch / "server.log"

    def fill(self, text: str) -> str:
        """Fill in the docs' placeholders: the server's address and the demo token."""
        text = text.replace("http://127.0.0.1:8000", self.base)
        return text.replace("kmw_...", self.token or "kmw_...")

    def run(self, command: Command) -> Outcome:
        """Run one command in the shared shell state; say what went wrong."""
        outcome = Outcome(command)
        if command.skip:
            outcome.skipped = True
            return outcome
        if re.match(r"komawari serve\b", command.text):
            self.serve(command, outcome)
            return outcome
        env_file = self.scratch / "env"
        script = f"{self.fill(command.text)}\n__rc=$?\nenv -0 > {env_file}\nexit $__rc\n"
        # Its own process group, so that a command that overruns is stopped whole (bash
        # and every process it started), never left running behind the walk-through.
        with subprocess.Popen(
            ["bash", "-c", script],
            cwd=self.root,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        ) as proc:
            try:
                stdout, stderr = proc.communicate(timeout=COMMAND_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.communicate(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.communicate()
                outcome.problems.append(f"did not end within {COMMAND_TIMEOUT} s")
                return outcome
        done = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
        out = done.stdout.decode(errors="replace")
        err = done.stderr.decode(errors="replace")
        if "Traceback" in out + err:
            outcome.problems.append("printed a traceback:\n" + (out + err)[-2000:])
        if env_file.exists():
            pairs = (item.partition("=") for item in env_file.read_text().split("\0") if item)
            self.env = {k: v for k, _, v in pairs if k not in ("_", "SHLVL", "OLDPWD", "PWD")}
            env_file.unlink()
        if STATUS in out:
            self._check_answer(command, outcome, out, done.returncode)
        elif done.returncode not in LEGAL_EXITS:
            outcome.problems.append(f"exit {done.returncode}: {(out + err)[-1000:]}")
        elif done.returncode == 2 and "exit 2" not in command.text:
            outcome.problems.append(f"a usage error (exit 2) the doc does not show: {err[-1000:]}")
        elif command.status is not None:
            outcome.problems.append(f"expected HTTP {command.status}, no answer: {err[-500:]}")
        return outcome

    def _check_answer(self, command: Command, outcome: Outcome, out: str, code: int) -> None:
        body, _, status_line = out.rpartition(STATUS)
        status = int(status_line.split()[0])
        if code != 0:
            outcome.problems.append(f"curl exit {code}")
        if status >= 500:
            outcome.problems.append(f"answered {status}: {body[:500]}")
        elif command.status is not None and status != command.status:
            outcome.problems.append(
                f"answered {status}, the doc says {command.status}: {body[:500]}"
            )
        if command.sets is not None and status < 300:
            variable, key = command.sets
            self.env[variable] = str(json.loads(body)[key])

    def serve(self, command: Command, outcome: Outcome) -> None:
        """Start `komawari serve --demo` as written, on a free port, in the background."""
        log = self.server_log.open("wb")
        text = f"exec {self.fill(command.text).split('#')[0].strip()} --port {self.port}"
        self.server = subprocess.Popen(
            ["bash", "-c", text],
            cwd=self.root,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                outcome.problems.append(f"the server ended: {self.log()[-2000:]}")
                return
            found = re.search(r"kmw_[\w-]{20,}", self.log())
            if found and self._healthy():
                self.token = found[0]
                return
            time.sleep(0.3)
        outcome.problems.append(f"the server did not start in 90 s: {self.log()[-2000:]}")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def log(self) -> str:
        return self.server_log.read_text(errors="replace") if self.server_log.exists() else ""

    def stop(self) -> list[str]:
        """Stop the server; return what its log shows that must not be there."""
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(60)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        text = self.log()
        problems = []
        if "Traceback" in text:
            problems.append(
                "the server logged a traceback:\n" + text[text.index("Traceback") :][:3000]
            )
        problems += [f"the server answered {m[0]}" for m in re.finditer(r'" 5\d\d\b.*', text)]
        return problems


def walk(root: Path, database_url: str | None = None, *, quiet: bool = False) -> list[Outcome]:
    """Walk through the docs on a scratch database; return every command's outcome."""
    with (
        tempfile.TemporaryDirectory(prefix="komawari-walkthrough-") as folder,
        scratch_database(database_url) as url,
    ):
        w = Walk(root, Path(folder), url)
        outcomes: list[Outcome] = []
        try:
            for doc in DOCS:
                for command in commands(root, doc):
                    started = time.monotonic()
                    outcome = w.run(command)
                    outcome.seconds = time.monotonic() - started
                    outcomes.append(outcome)
                    if not quiet:
                        report(outcome)
        finally:
            problems = w.stop()
            stop_embedded(w.home)
        if problems:
            server = Outcome(Command("server", 0, "komawari serve --demo"), problems)
            outcomes.append(server)
            if not quiet:
                report(server)
    return outcomes


@contextlib.contextmanager
def scratch_database(server_url: str | None) -> Iterator[str | None]:
    """Make a scratch database on the server (None: the embedded one); drop it after."""
    if not server_url:
        yield None
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from komawari.db.engine import normalise_url

    server = normalise_url(server_url)
    name = f"komawari_walkthrough_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(server).set(database=name)
        yield url.set(drivername="postgresql").render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def stop_embedded(home: Path) -> None:
    """Stop an embedded server left in the scratch home (a walk that failed half-way)."""
    from komawari.db.embedded import stop_embedded as stop

    for pgdata in home.glob(".local/share/komawari/pgdata"):
        stop(pgdata)


def report(outcome: Outcome) -> None:
    """Print one command's outcome."""
    if outcome.skipped:
        print(f"skipped  {outcome.command.where()}  ({outcome.command.skip})", flush=True)
    elif outcome.problems:
        print(f"FAILED   {outcome.command.where()}", flush=True)
        for problem in outcome.problems:
            print("         " + problem.replace("\n", "\n         "), flush=True)
    else:
        print(f"ok {outcome.seconds:5.1f}s {outcome.command.where()}", flush=True)


def fresh_clone(scratch: Path) -> Path:
    """Clone the checkout's HEAD and do the README's set-up in the clone (a new .venv)."""
    clone = scratch / "komawari"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    subprocess.run([sys.executable, "dev.py", "setup"], cwd=clone, check=True)
    return clone


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python3 dev.py walkthrough", description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get("KOMAWARI_TEST_DATABASE_URL"))
    parser.add_argument("--fresh", action="store_true", help="clone HEAD and set it up first")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="komawari-clone-") as scratch:
        root = fresh_clone(Path(scratch)) if args.fresh else ROOT
        outcomes = walk(root, args.database_url)
    failed = [o for o in outcomes if o.problems]
    skipped = [o for o in outcomes if o.skipped]
    ran = len(outcomes) - len(skipped)
    print(
        f"{ran} commands run, {len(skipped)} skipped by the docs, {len(failed)} failed, "
        f"in {time.monotonic() - started:.0f} s"
    )
    for o in failed:
        print(f"failed: {o.command.where()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
