"""`komawari session ...`: one-off lessons, cancel, restore, move, and the day's list."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from komawari.audit.service import Actor
from komawari.branches import service as branches
from komawari.branches.models import Branch
from komawari.cli.support import Id, cell, friendly, name_text, opt_date
from komawari.db.engine import ready_engine, session_scope
from komawari.people import queries as people
from komawari.people.models import Room, Student, Teacher
from komawari.scheduling import clock
from komawari.sessions import queries, service
from komawari.sessions.models import ClassSession
from komawari.sessions.reads import read_sessions
from komawari.sessions.schemas import SessionCreate, SessionMove

app = typer.Typer(
    help="Sessions: one-off lessons, cancel, restore, move, list.", no_args_is_help=True
)
# Piped, Rich would draw 80 columns; a listing read in a file or by grep needs room.
out = Console(width=None if sys.stdout.isatty() else 160)
_WHOLE = {"date", "id", "time", "series", "status"}


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


@app.command("restore", help="Bring back a cancelled session (booked again now).")
@friendly
def restore(
    session_id: Id, reason: str | None = typer.Option(None, "--reason", callback=name_text)
) -> None:
    with session_scope(ready_engine()) as s:
        row = service.restore(s, session_id, actor=Actor.cli(), reason=reason)
        out.print(f"session {row.id} restored: {row.status.value}")


@app.command("move", help="Move a session to another date, time or room, or give it a substitute.")
@friendly
def move(
    session_id: Id,
    day: str | None = typer.Option(None, "--date"),
    start: str | None = typer.Option(None, "--start"),
    end: str | None = typer.Option(None, "--end"),
    room: int | None = typer.Option(None, "--room"),
    teacher: int | None = typer.Option(None, "--teacher", help="A substitute (or its own back)"),
    reason: str | None = typer.Option(None, "--reason"),
) -> None:
    data = SessionMove.model_validate(
        {
            "date": day,
            "start_time": start,
            "end_time": end,
            "room_id": room,
            "teacher_id": teacher,
            "reason": reason,
        }
    )
    with session_scope(ready_engine()) as s:
        row = service.move(s, session_id, move_in=data, actor=Actor.cli())
        out.print(
            f"session {row.id} now {row.date} {row.start_time:%H:%M}-{row.end_time:%H:%M}"
            f" ({row.status.value})"
        )


@app.command("list", help="List sessions: of a day (default today) or --from/--to.")
@friendly
def list_(
    branch: int | None = typer.Option(None, "--branch", help="Only this branch."),
    teacher: int | None = typer.Option(None, "--teacher", help="Only this teacher's."),
    student: int | None = typer.Option(None, "--student", help="Only this student's."),
    day: str | None = typer.Option(None, "--date", help="One day (YYYY-MM-DD)."),
    first: str | None = typer.Option(None, "--from", help="First day."),
    last: str | None = typer.Option(None, "--to", help="Last day."),
    as_json: bool = typer.Option(False, "--json", help="One JSON array on stdout."),
) -> None:
    if day is not None and (first or last):
        raise typer.BadParameter("give --date, or --from and --to, not both", param_hint="--date")
    one = opt_date(day, "--date")
    start, end = one or opt_date(first, "--from"), one or opt_date(last, "--to")
    if start is None and end is None:
        start = end = clock.school_today()
    if start is not None and end is not None and start > end:
        raise typer.BadParameter(f"{start} is after --to {end}", param_hint="--from")
    with session_scope(ready_engine()) as s:
        check_filters(s, branch=branch, teacher=teacher, student=student)
        rows = queries.search(
            s,
            branch_ids=[branch] if branch else None,
            teacher_id=teacher,
            student_id=student,
            date_from=start,
            date_to=end,
            limit=100_000,
        )
        if as_json:
            typer.echo(
                json.dumps([r.model_dump(mode="json") for r in read_sessions(s, rows, viewer=None)])
            )
            return
        print_sessions(s, rows, with_branch=branch is None, with_date=start != end)


def check_filters(
    s: Session, *, branch: int | None, teacher: int | None, student: int | None
) -> None:
    """Raise NotFound for a branch, teacher or student id that does not exist."""
    if branch is not None:
        branches.get(s, branch)
    if teacher is not None:
        people.get_teacher(s, teacher)
    if student is not None:
        people.get_student(s, student)


def _names(s: Session, model: type[Any], ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    found = s.execute(select(model.id, model.name).where(model.id.in_(ids)))
    return {int(i): str(n) for i, n in found}


def print_sessions(
    s: Session, rows: Sequence[ClassSession], *, with_branch: bool, with_date: bool
) -> None:
    """Print sessions as a table with names: teacher, student or group, room, branch."""
    reads = read_sessions(s, rows, viewer=None)
    teachers = _names(s, Teacher, {r.teacher_id for r in reads})
    students = _names(s, Student, {r.student_id for r in reads if r.student_id})
    rooms = _names(s, Room, {r.room_id for r in reads if r.room_id})
    sites = _names(s, Branch, {r.branch_id for r in reads})
    table = Table()
    heads = ["branch"] * with_branch + ["date"] * with_date
    for head in (*heads, "id", "time", "teacher", "student / group", "room", "series", "status"):
        # Short values never wrap or shorten; names wrap whole, never cut to "…".
        table.add_column(head, no_wrap=head in _WHOLE, overflow="fold")
    table.add_column("conflicts with", overflow="fold")
    for r in reads:
        table.add_row(
            *([cell(sites[r.branch_id])] if with_branch else []),
            *([f"{r.date:%a %Y-%m-%d}"] if with_date else []),
            str(r.id),
            f"{r.start_time:%H:%M}-{r.end_time:%H:%M}",
            cell(teachers[r.teacher_id]),
            cell(students[r.student_id] if r.student_id else r.title or ""),
            cell(rooms[r.room_id]) if r.room_id else "",
            str(r.series_id or "one-off"),
            r.status.value,
            ",".join(str(c.session_id) for c in r.conflicts_with),
        )
    out.print(table)
    out.print(f"{len(reads)} session(s)")
