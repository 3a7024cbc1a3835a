"""`komawari worker` (the job worker) and `komawari notices` (the outbox, for operators)."""

from __future__ import annotations

import asyncio
import json
import os
import socket

import typer
from rich.console import Console

out = Console()

app = typer.Typer(no_args_is_help=True, help="The notices' outbox: its queue and dead letters.")


def worker(
    concurrency: int = typer.Option(2, "--concurrency", min=1, max=64, help="Jobs at once."),
) -> None:
    """Run a job worker: the periodic work (generation, credit expiry, reminders) and the
    notices' outbox. Run as many as you like, on as many hosts: each tick runs once."""
    from komawari import queue
    from komawari.db.engine import name_connections, ready_engine

    name_connections("komawari-worker")
    engine = ready_engine()
    name = f"{socket.gethostname()}-{os.getpid()}"
    out.print(f"komawari worker {name}: the periodic work and the outbox; Ctrl-C stops it")
    app = queue.build_app(engine)
    asyncio.run(queue.run_worker(app, name=name, concurrency=concurrency, own_signals=True))
    out.print("stopped")


@app.command("status")
def status(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Count the outbox: intents waiting, messages by state, LINE's month against its quota."""
    from komawari.db.engine import ready_engine, session_scope
    from komawari.notices import operator

    with session_scope(ready_engine()) as db:
        counts = operator.counts(db)
    if as_json:
        typer.echo(json.dumps(counts, default=str, sort_keys=True))
        return
    for key, value in counts.items():
        out.print(f"{key}: {value}", highlight=False)


@app.command("send")
def send_now(
    due_now: bool = typer.Option(
        False, "--due-now", help="Retry now the messages waiting out a backoff or a pause."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Drain and send the outbox now, once, in this process."""
    from komawari.db.engine import ready_engine
    from komawari.notices import jobs, send

    if due_now:
        send.due_now(ready_engine())
    done = jobs.outbox_once()
    if as_json:
        typer.echo(json.dumps({"sent": done.sent, "retried": done.retried, "dead": done.dead}))
        return
    out.print(f"sent {done.sent}, to retry {done.retried}, dead letters {done.dead}")
