"""Operator commands: doctor, dedupe, guards, backup, restore, import.

Exit codes: 0 healthy or done, 1 problems found (or a refusal), 2 usage or environment
error. `--json` prints exactly one JSON object on stdout; people get Rich tables, and
progress and warnings on stderr.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.panel import Panel
from sqlalchemy import URL

from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.cli.progress import progress
from komawari.cli.support import EXIT_PROBLEMS, cell, err, friendly, opt_date
from komawari.config import get_settings
from komawari.db import migrate
from komawari.db.engine import get_engine, ready_engine, session_scope
from komawari.ops import backup as backups
from komawari.ops import dedupe as dedupes
from komawari.ops import doctor as doctors
from komawari.ops import guard_switch as guard_ops
from komawari.ops import legacy_import, render
from komawari.ops.legacy_text import ENCODINGS
from komawari.sessions.models import OCCURRENCE_GUARD

out = Console()
guards_app = typer.Typer(
    help="Uniqueness guards: status, off (drop), on (re-create).", no_args_is_help=True
)
import_app = typer.Typer(help="Import from other systems.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print one JSON object on stdout.")
DEDUPE_STEPS = ("planning", "backing up", "repairing")


def _emit(as_json: bool, payload: dict[str, Any]) -> None:
    if as_json:
        typer.echo(json.dumps(payload, default=str))


def _exit(code: int) -> None:
    if code:
        raise typer.Exit(code)


@friendly
def doctor(
    day: str | None = typer.Option(None, "--date", help="Only this date's sessions."),
    top: int = typer.Option(10, "--top", min=1, help="Worst duplicate groups to list."),
    as_json: bool = JSON,
) -> None:
    """Show duplicates, duplicate series and missing guards; exit 1 when something is wrong."""
    with session_scope(ready_engine()) as s:
        found = doctors.diagnose(s, on_date=opt_date(day, "--date"), top=top)
    _emit(as_json, found.as_dict())
    if not as_json:
        render.doctor(out, found)
    _exit(EXIT_PROBLEMS if found.problems else 0)


@friendly
def dedupe(
    apply: bool = typer.Option(False, "--apply", help="Repair (the default only plans)."),
    no_backup: bool = typer.Option(False, "--no-backup", help="Skip the backup of --apply."),
    as_json: bool = JSON,
) -> None:
    """Cancel exact duplicates keeping the earliest, pause duplicate series (dry run first)."""
    engine = ready_engine()
    with progress("dedupe", DEDUPE_STEPS) as step:
        step("planning")
        with session_scope(engine) as s:
            result = dedupes.run(s, apply=False)
        if apply and not result.nothing_to_do:
            path = None
            if not no_backup:
                step("backing up")
                path = str(backups.backup(engine, folder=get_settings().backup_dir).path)
                if not as_json:
                    out.print(f"backup: {path}")
            step("repairing")
            with session_scope(engine) as s:
                result = dedupes.run(s, apply=True, backup=path)
    payload = result.as_dict()
    if result.nothing_to_do:  # nothing was done: there is no repair to name
        payload.pop("repair_id", None)
    _emit(as_json, payload)
    if not as_json:
        if result.nothing_to_do:
            out.print("[green]nothing to do[/]: no duplicate lessons or series")
        else:
            render.dedupe(out, result)
    _exit(EXIT_PROBLEMS if not apply and not result.nothing_to_do else 0)


@guards_app.command("status", help="List each guard; exit 1 when one is missing or invalid.")
@friendly
def guards_status(as_json: bool = JSON) -> None:
    with session_scope(ready_engine()) as s:
        states = doctors.guard_states(s)
    _emit(as_json, {"guards": states})
    if not as_json:
        render.guards(out, states)
    _exit(EXIT_PROBLEMS if set(states.values()) != {"ok"} else 0)


@guards_app.command("off", help="Drop the uniqueness guards (all, or those named). Loudly.")
@friendly
def guards_off(
    names: list[str] | None = typer.Argument(None, help="Guard names; all when none."),
    reason: str | None = typer.Option(None, "--reason", help="Why, for the audit log."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    as_json: bool = JSON,
) -> None:
    chosen = [g.name for g in guard_ops.by_name(names)]
    if not yes:
        typer.confirm(
            f"Drop {', '.join(chosen)}? The database will accept duplicate lessons and "
            "series until `komawari guards on`",
            abort=True,
            err=True,
        )
    with session_scope(ready_engine()) as s:
        change = guard_ops.turn_off(s, actor=Actor.cli(), names=chosen, reason=reason)
    err.print(
        Panel(
            f"Dropped: {', '.join(change.changed) or 'none (already off)'}.\n"
            "The database no longer refuses duplicates, and generation stops (it needs "
            f"{OCCURRENCE_GUARD}). Run `komawari guards on` as soon as you can.",
            title="[bold red]UNIQUENESS GUARDS OFF",
            border_style="red",
        )
    )
    _emit(as_json, {"dropped": change.changed, "already_missing": change.unchanged})


@guards_app.command("on", help="Re-create the guards; refused while duplicates exist.")
@friendly
def guards_on(as_json: bool = JSON) -> None:
    try:
        with session_scope(ready_engine()) as s:
            change = guard_ops.turn_on(s, actor=Actor.cli())
    except guard_ops.DuplicatesBlockGuards as refused:
        _emit(as_json, {"refused": True, **refused.extra, "detail": refused.detail})
        if not as_json:
            err.print(f"[bold red]refused:[/] {refused.detail}", highlight=False)
            with session_scope(ready_engine()) as s:
                render.doctor(out, doctors.diagnose(s))
        raise typer.Exit(EXIT_PROBLEMS) from None
    _emit(as_json, {"refused": False, "created": change.changed})
    if not as_json:
        out.print(f"guards re-created: {', '.join(change.changed) or 'none (all in place)'}")


@friendly
def backup(
    out_path: Path | None = typer.Option(None, "--out", help="File to write (default: new)."),
    as_json: bool = JSON,
) -> None:
    """Back up the database with pg_dump (custom format), verified with pg_restore --list."""
    with progress("backing up"):
        archive = backups.backup(get_engine(), folder=get_settings().backup_dir, out=out_path)
    _emit(as_json, {"path": str(archive.path), "tables": sorted(archive.tables)})
    if not as_json:
        out.print(f"backup written and verified: {archive.path}")


@friendly
def restore(
    path: Path = typer.Argument(..., help="A backup written by `komawari backup`."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    no_backup: bool = typer.Option(False, "--no-backup", help="Skip the safety backup."),
    force: bool = typer.Option(
        False, "--force", help="End the other sessions connected to the database first."
    ),
    as_json: bool = JSON,
) -> None:
    """Replace the database's contents with a backup (a safety backup is taken first)."""
    engine = get_engine()
    archive = backups.check(path)
    target = describe_database(engine.url)
    others = backups.others_connected(engine)
    if others and not force:
        _refuse_connected(target, others)
    if not yes and not typer.confirm(
        f"Replace every Komawari table of {target} with {path.name} (taken "
        f"{archive.header.get('Archive created at', '?')})?",
        err=True,
    ):
        err.print("restore cancelled; nothing changed")
        raise typer.Exit(EXIT_PROBLEMS)
    if others:
        backups.end_sessions(engine, others)
        err.print(f"ended {len(others)} other session(s) connected to {target}")
    safety = None
    with progress("restore", ("safety backup", "restoring")) as step:
        if not no_backup and migrate.current_revision(engine) is not None:
            step("safety backup")
            safety = str(backups.backup(engine, folder=get_settings().backup_dir).path)
        step("restoring")
        backups.restore(engine, path)
    # The plain engine: the database is now the backup's, at the backup's revision.
    with session_scope(get_engine()) as s:
        audit.record(
            s,
            actor=Actor.cli(),
            action="ops.restore",
            subject_type="database",
            reason=f"restored from {path}",
            details={
                "database": engine.url.database,
                "backup": str(path),
                "safety_backup": safety,
                "header": archive.header,
            },
        )
    _emit(as_json, {"restored": str(path), "safety_backup": safety})
    if not as_json:
        out.print(
            f"restored from {path}" + (f"; the state before is in {safety}" if safety else "")
        )


def _refuse_connected(target: str, others: list[backups.Connected]) -> None:
    """Refuse a restore under connected sessions, listing them (exit 1)."""
    err.print(
        f"refused: {len(others)} other session(s) are connected to {target}; a restore under "
        "them would change the tables they are using. Stop them (e.g. `komawari serve`), "
        "or pass --force to end them first:",
        highlight=False,
    )
    for o in others:
        since = o.since.isoformat(timespec="seconds")
        err.print(f"  {cell(o.application)}  from {o.address}  since {since}", highlight=False)
    raise typer.Exit(EXIT_PROBLEMS)


@import_app.command("legacy", help="Import series and sessions CSV files (dry run first).")
@friendly
def import_legacy(
    series: Path = typer.Option(..., "--series", exists=True, dir_okay=False, help="CSV."),
    sessions: Path = typer.Option(..., "--sessions", exists=True, dir_okay=False, help="CSV."),
    apply: bool = typer.Option(False, "--apply", help="Write (the default only reports)."),
    strict: bool = typer.Option(False, "--strict", help="Load nothing if any row is bad."),
    branch: str | None = typer.Option(None, "--branch", help="Branch of unplaced one-offs."),
    encoding: str = typer.Option(
        "utf-8", "--encoding", help=f"{' or '.join(ENCODINGS)} (a BOM is fine)."
    ),
    as_json: bool = JSON,
) -> None:
    if encoding.lower() not in ENCODINGS:
        known = ", ".join(ENCODINGS)
        raise typer.BadParameter(f"{encoding!r} is not one of {known}", param_hint="--encoding")
    with progress("import", legacy_import.STEPS) as step, session_scope(ready_engine()) as s:
        report = legacy_import.run(
            s,
            series_path=series,
            sessions_path=sessions,
            apply=apply,
            strict=strict,
            default_branch=branch,
            time_zone=get_settings().default_timezone,
            progress=step,
            encoding=encoding.lower(),
        )
    _emit(as_json, report.as_dict())
    if not as_json:
        render.imported(out, report)
    _exit(EXIT_PROBLEMS if report.errors else 0)


def describe_database(url: URL) -> str:
    """Name a database for a person: its name, host and port (or socket folder), user."""
    host = url.host or str(url.query.get("host", "")) or "the local socket"
    where = f"{host}:{url.port}" if url.port else host
    return f"database {url.database!r} on {where}" + (f" as {url.username}" if url.username else "")


def register(app: typer.Typer) -> None:
    """Add the operator commands to the main app."""
    app.command(help="Show duplicates, duplicate series and missing guards.")(doctor)
    app.command(help="Cancel exact duplicates and pause duplicate series (dry run first).")(dedupe)
    app.add_typer(guards_app, name="guards")
    app.command(help="Back up the database (pg_dump custom format), verified.")(backup)
    app.command(help="Restore a backup (asks first; takes a safety backup).")(restore)
    app.add_typer(import_app, name="import")
