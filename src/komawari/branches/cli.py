"""`komawari branch ...`: branches and closure days."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from komawari.audit.service import Actor
from komawari.branches import service
from komawari.cli.support import Id, Name, cell, free_text, friendly, req_date
from komawari.db.engine import ready_engine, session_scope

app = typer.Typer(help="Branches (sites) and their closure days.", no_args_is_help=True)
closure = typer.Typer(
    help="Closure days: a preview first, --apply to change.", no_args_is_help=True
)
app.add_typer(closure, name="closure")
out = Console()


@app.command("add", help="Add a branch in an IANA time zone.")
@friendly
def add(
    name: Name, time_zone: str | None = typer.Option(None, "--tz", help="Default: Asia/Tokyo.")
) -> None:
    with session_scope(ready_engine()) as s:
        row = service.create(s, name=name, time_zone=time_zone, actor=Actor.cli())
        out.print(f"branch {row.id}: {cell(row.name)} ({row.time_zone})")


@app.command("list", help="List branches.")
@friendly
def list_(as_json: bool = typer.Option(False, "--json")) -> None:
    with session_scope(ready_engine()) as s:
        rows = [
            {
                "id": b.id,
                "name": b.name,
                "time_zone": b.time_zone,
                "closures": [c.date.isoformat() for c in service.closures(s, b.id)],
            }
            for b in service.list_branches(s)
        ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table("id", "name", "time zone", "closures")
    for r in rows:
        table.add_row(str(r["id"]), cell(r["name"]), str(r["time_zone"]), str(len(r["closures"])))  # type: ignore[arg-type]
    out.print(table)


@closure.command("add", help="Close a branch on a day (cancels that day's sessions).")
@friendly
def closure_add(
    branch: Id,
    day: str,
    reason: str = typer.Option("closed", "--reason", callback=free_text),
    apply: bool = typer.Option(False, "--apply", help="Change data; else a preview."),
) -> None:
    when = req_date(day, "DAY")
    with session_scope(ready_engine()) as s:
        preview = service.preview_closure(s, branch, when)
        out.print(f"closing branch {branch} on {when} cancels {len(preview.sessions)} session(s)")
        for row in preview.sessions[:50]:
            out.print(
                f"  session {row.id} {row.start_time:%H:%M}-{row.end_time:%H:%M} "
                f"teacher {row.teacher_id}"
            )
        if not apply:
            out.print("[yellow]dry run[/]: nothing changed; add --apply to close the day")
            return
        ids = service.add_closure(s, branch, when, reason=reason, actor=Actor.cli())
        out.print(f"closed; cancelled {len(ids)} session(s) as branch_closed")


@closure.command("remove", help="Reopen a closed day; generation fills it again.")
@friendly
def closure_remove(branch: int, day: str) -> None:
    with session_scope(ready_engine()) as s:
        outcome = service.remove_closure(s, branch, req_date(day, "DAY"), actor=Actor.cli())
        out.print(f"reopened: {outcome['restored']} restored, {outcome['created']} created")


@closure.command("holidays", help="Load Japan's public holidays of a year as closures.")
@friendly
def holidays(
    branch: Id,
    year: int,
    apply: bool = typer.Option(False, "--apply", help="Change data; else a preview."),
) -> None:
    with session_scope(ready_engine()) as s:
        days = service.japan_holidays(year)
        existing = {c.date for c in service.closures(s, branch)}
        new = [(d, name) for d, name in days if d not in existing]
        for d, name in new:
            preview = service.preview_closure(s, branch, d)
            out.print(f"{d} {name}: cancels {len(preview.sessions)} session(s)")
            if apply:
                service.add_closure(s, branch, d, reason=name, actor=Actor.cli())
        if not apply:
            out.print(f"[yellow]dry run[/]: {len(new)} holiday(s) to add; --apply to add them")
