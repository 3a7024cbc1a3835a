"""`komawari session ...`: one-off lessons, cancel, move, and the day's list."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from komawari.audit.service import Actor
from komawari.cli.support import Id, cell, friendly, name_text, req_date
from komawari.db.engine import ready_engine, session_scope
from komawari.sessions import queries, service
from komawari.sessions.schemas import SessionCreate, SessionMove, SessionRead

app = typer.Typer(help="Sessions: one-off lessons, cancel, move, list.", no_args_is_help=True)
out = Console()


@app.command("add", help="Book a one-off private lesson.")
@friendly
def add(
    branch: int = typer.Option(..., "--branch"),
    teacher: int = typer.Option(..., "--teacher"),
    student: int = typer.Option(..., "--student"),
    day: str = typer.Option(..., "--date"),
    start: str = typer.Option(..., "--start"),
    end: str = typer.Option(..., "--end"),
    room: int | None = typer.Option(None, "--room"),
) -> None:
    data = SessionCreate.model_validate(
        {
            "branch_id": branch,
            "teacher_id": teacher,
            "student_id": student,
            "date": day,
            "start_time": start,
            "end_time": end,
            "room_id": room,
        }
    )
    with session_scope(ready_engine()) as s:
        row = service.create_one_off(s, session_in=data, actor=Actor.cli())
        out.print(f"session {row.id} booked: {row.status.value}")


@app.command("cancel", help="Cancel a session with a reason.")
@friendly
def cancel(session_id: Id, reason: str = typer.Option(..., "--reason", callback=name_text)) -> None:
    with session_scope(ready_engine()) as s:
        service.cancel(s, session_id, reason=reason, actor=Actor.cli())
        out.print(f"session {session_id} cancelled")


@app.command("move", help="Move a session to another date or time.")
@friendly
def move(
    session_id: Id,
    day: str | None = typer.Option(None, "--date"),
    start: str | None = typer.Option(None, "--start"),
    end: str | None = typer.Option(None, "--end"),
    reason: str | None = typer.Option(None, "--reason"),
) -> None:
    data = SessionMove.model_validate(
        {"date": day, "start_time": start, "end_time": end, "reason": reason}
    )
    with session_scope(ready_engine()) as s:
        row = service.move(s, session_id, move_in=data, actor=Actor.cli())
        out.print(
            f"session {row.id} now {row.date} {row.start_time:%H:%M}-{row.end_time:%H:%M}"
            f" ({row.status.value})"
        )


@app.command("list", help="List a branch's sessions of a day.")
@friendly
def list_(
    branch: int | None = typer.Option(None, "--branch"),
    day: str = typer.Option(..., "--date"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    when = req_date(day, "--date")
    with session_scope(ready_engine()) as s:
        rows = [
            SessionRead.model_validate(r)
            for r in queries.search(
                s,
                branch_ids=[branch] if branch else None,
                date_from=when,
                date_to=when,
                limit=100_000,
            )
        ]
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows]))
        return
    table = Table("id", "time", "teacher", "student", "series", "status", "conflicts with")
    for r in rows:
        table.add_row(
            str(r.id),
            f"{r.start_time:%H:%M}-{r.end_time:%H:%M}",
            str(r.teacher_id),
            cell(r.student_id or r.title or ""),
            str(r.series_id or "one-off"),
            r.status.value,
            ",".join(map(str, r.conflicts_with)),
        )
    out.print(table)
