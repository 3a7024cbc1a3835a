"""`komawari db ...`: migrations."""

from __future__ import annotations

import json

import typer
from rich.console import Console

from komawari.cli.support import friendly
from komawari.db import guards as db_guards
from komawari.db import migrate
from komawari.db.engine import get_engine

app = typer.Typer(help="Database schema: migrations and status.", no_args_is_help=True)
out = Console()


@app.command("upgrade", help="Apply every migration up to head.")
@friendly
def upgrade() -> None:
    engine = get_engine()
    before = migrate.current_revision(engine)
    migrate.upgrade(engine)
    after = migrate.current_revision(engine)
    out.print(f"database at revision {after} (was {before or 'empty'})")


@app.command("status", help="Show the database's revision, the head, and each guard.")
@friendly
def status(as_json: bool = typer.Option(False, "--json", help="One JSON object.")) -> None:
    engine = get_engine()
    current, head = migrate.current_revision(engine), migrate.head_revision()
    guards = db_guards.guard_states(engine) if current else {}
    url = engine.url.render_as_string(hide_password=True)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "url": url,
                    "current": current,
                    "head": head,
                    "up_to_date": current == head,
                    "guards": guards,
                }
            )
        )
    else:
        out.print(f"database: {url}")
        out.print(
            f"revision: {current or 'empty'} (head {head})"
            + ("" if current == head else "  [yellow]run `komawari db upgrade`[/]")
        )
        for name, state in guards.items():
            colour = "green" if state == "ok" else "red"
            out.print(f"  guard {name}: [{colour}]{state}[/]")
    if current != head:
        raise typer.Exit(1)
