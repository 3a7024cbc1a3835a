"""`komawari generate`."""

from __future__ import annotations

import json
from datetime import date

import typer
from rich.console import Console
from rich.table import Table

from komawari.audit.service import Actor
from komawari.branches import service as branches
from komawari.cli.progress import progress
from komawari.cli.support import friendly
from komawari.db.engine import ready_engine, session_scope
from komawari.generation import job, service
from komawari.generation.enums import RunTrigger
from komawari.scheduling.parsing import parse_date
from komawari.series import service as series_service

out = Console()


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--through") from exc


@friendly
def generate(
    branch: int | None = typer.Option(None, "--branch", help="Only this branch's series."),
    series: int | None = typer.Option(None, "--series", help="Only this series."),
    through: str | None = typer.Option(None, "--through", help="Last date (YYYY-MM-DD)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Materialise the occurrences of ACTIVE series up to the horizon."""
    scope = service.Scope(branch_id=branch, series_id=series, through=_date(through))
    engine = ready_engine()
    with session_scope(engine) as s:  # unknown ids are errors before a run is recorded
        if branch is not None:
            branches.get(s, branch)
        if series is not None:
            series_service.get(s, series)
    with progress("generating"):
        result = job.run(engine, trigger=RunTrigger.CLI, scope=scope, actor=Actor.cli())
    if as_json:
        typer.echo(json.dumps(result.as_dict()))
        return
    table = Table(title=f"generation run {result.run_id}: {result.status}")
    table.add_column("what")
    table.add_column("count", justify="right")
    for key, value in result.as_dict().items():
        if key not in {"run_id", "status", "error"}:
            table.add_row(key.replace("_", " "), str(value))
    out.print(table)
