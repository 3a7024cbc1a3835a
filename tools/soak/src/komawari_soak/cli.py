"""`komawari soak`: servers, generators, load and faults, then the checks; figures out.

The product's CLI adds it through the `komawari.commands` entry point (`register`).
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from komawari.cli.support import EXIT_PROBLEMS, friendly
from komawari.config import get_settings

err = Console(stderr=True)
out = Console()


@friendly
def soak(
    minutes: float = typer.Option(2.0, "--minutes", min=0.05, help="How long the load runs."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
    seed: int = typer.Option(1, "--seed", help="Seed of the school and the load."),
    clients: int = typer.Option(6, "--clients", min=1, max=200, help="Concurrent clients."),
    logs: Path | None = typer.Option(
        None,
        "--logs",
        help="If it fails, keep here the servers' and generators' logs, the ledger and a "
        "backup of the database (soak.dump).",
    ),
) -> None:
    """Run two servers and two generators under load and faults; check nothing was lost."""
    from komawari_soak import runner

    # SIGTERM stops the soak like Ctrl-C: everything it started is stopped on the way out.
    signal.signal(signal.SIGTERM, _interrupted)
    options = runner.Options(
        minutes=minutes,
        seed=seed,
        clients=clients,
        database_url=get_settings().database_url,
        keep_logs=logs,
    )
    if as_json:
        report = runner.run(options)
        typer.echo(json.dumps(report, default=str))
    else:
        with err.status("soak") as status:

            def step(what: str) -> None:
                status.update(what)
                err.log(what)

            report = runner.run(options, step=step)
        _summary(report)
    if not report["passed"]:
        raise typer.Exit(EXIT_PROBLEMS)


def register(app: typer.Typer) -> None:
    """Add `komawari soak` to the product's app (entry point group `komawari.commands`)."""
    app.command(help="Soak: two servers and generators under load and faults.")(soak)


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _summary(report: dict[str, object]) -> None:
    table = Table(title="soak " + ("passed" if report["passed"] else "FAILED"))
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key in (
        "minutes",
        "requests",
        "acknowledged_writes",
        "replays",
        "lost_writes",
        "duplicates",
        "idempotency_mismatches",
        "credit_double_issues",
        "credit_double_uses",
        "doctor_clean",
        "http_5xx_outside_restart",
        "http_5xx_in_fault_windows",
        "faults_injected",
        "faults",
    ):
        value = report.get(key)
        table.add_row(
            key.replace("_", " "), ", ".join(value) if isinstance(value, list) else str(value)
        )
    out.print(table)
