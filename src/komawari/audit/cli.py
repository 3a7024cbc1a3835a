"""`komawari audit ...`: the audit log and the skipped-due-to-existing report."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from komawari.audit import service
from komawari.cli.support import cell, friendly, moment
from komawari.db.engine import ready_engine, session_scope

app = typer.Typer(help="The audit log: who changed what, when and why.", no_args_is_help=True)
out = Console()


def _since(value: str | None, default_days: int) -> datetime:
    if value is None:
        return datetime.now(UTC) - timedelta(days=default_days)
    return moment(value, "--since")


@app.command("skipped", help="Occurrences generation skipped because they already existed.")
@friendly
def skipped(
    since: str | None = typer.Option(None, "--since", help="ISO date; default 7 days ago."),
    branch: int | None = typer.Option(None, "--branch"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    with session_scope(ready_engine()) as s:
        report = service.skipped_report(
            s, since=_since(since, 7), branch_ids=[branch] if branch else None
        )
        data = {
            "total": report.total,
            "per_day": {d.isoformat(): n for d, n in report.per_day.items()},
            "per_series": {str(k): v for k, v in report.per_series.items()},
            "events": [
                {
                    "at": e.at.isoformat(),
                    "series_id": e.series_id,
                    "date": e.occurrence_date.isoformat() if e.occurrence_date else None,
                    "run_id": e.run_id,
                }
                for e in report.events
            ],
        }
    if as_json:
        typer.echo(json.dumps(data))
        return
    out.print(f"skipped because they already existed: [bold]{report.total}[/]")
    table = Table("day", "skipped")
    for d, n in data["per_day"].items():  # type: ignore[attr-defined]
        table.add_row(d, str(n))
    out.print(table)
    top = Table("series", "skipped")
    for k, v in list(data["per_series"].items())[:20]:  # type: ignore[attr-defined]
        top.add_row(k, str(v))
    out.print(top)


def _repair(value: str | None) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise typer.BadParameter("not a repair id (a UUID)", param_hint="--repair") from exc


def _subject(kind: str, subject_id: int | None, details: dict[str, Any]) -> str:
    # A subject without an id (the database, an import) is named by its details, if any.
    name = subject_id if subject_id is not None else details.get(kind)
    return kind if name is None else f"{kind}:{name}"


@app.command("events", help="The latest audit events, filtered.")
@friendly
def events(
    action: str | None = typer.Option(None, "--action"),
    series: int | None = typer.Option(None, "--series"),
    repair: str | None = typer.Option(None, "--repair", help="Only this repair id's events."),
    since: str | None = typer.Option(None, "--since"),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    with session_scope(ready_engine()) as s:
        rows = service.events(
            s,
            action=action,
            series_id=series,
            repair_id=_repair(repair),
            since=_since(since, 36500) if since else None,
            limit=limit,
        )
        data = [
            {
                "id": e.id,
                "at": e.at.isoformat(),
                "actor": f"{e.actor_type}:{e.actor}",
                "action": e.action,
                "subject": _subject(e.subject_type, e.subject_id, e.details),
                "reason": e.reason,
                "details": e.details,
            }
            for e in rows
        ]
    if as_json:
        typer.echo(json.dumps(data, default=str))
        return
    table = Table("id", "at", "actor", "action", "subject", "reason")
    for e in data:
        table.add_row(
            str(e["id"]),
            str(e["at"])[:19],
            cell(e["actor"]),
            cell(e["action"]),
            cell(e["subject"]),
            cell(e["reason"] or ""),
        )
    out.print(table)
