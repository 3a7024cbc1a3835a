"""`komawari teacher|student|room add|list|rename|deactivate`, and a teacher's or student's week."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from komawari.audit.service import Actor
from komawari.cli.support import Id, Name, cell, friendly, name_text, opt_date
from komawari.db.engine import ready_engine, session_scope
from komawari.people import service, status
from komawari.people.schemas import PersonRead, RoomRead
from komawari.people.status import Kind
from komawari.scheduling import clock
from komawari.sessions import queries as sessions
from komawari.sessions.cli import print_sessions

out = Console()
teacher_app = typer.Typer(help="Teachers.", no_args_is_help=True)
student_app = typer.Typer(help="Students.", no_args_is_help=True)
room_app = typer.Typer(help="Rooms.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="One JSON array on stdout.")
ALL = typer.Option(False, "--all", help="Also the deactivated.")


@teacher_app.command("add", help="Add a teacher.")
@friendly
def add_teacher(name: Name, email: str | None = typer.Option(None, "--email")) -> None:
    with session_scope(ready_engine()) as s:
        row = service.create_teacher(s, name=name, email=email, actor=Actor.cli())
        out.print(f"teacher {row.id}: {cell(row.name)}")


@student_app.command("add", help="Add a student.")
@friendly
def add_student(name: Name, email: str | None = typer.Option(None, "--email")) -> None:
    with session_scope(ready_engine()) as s:
        row = service.create_student(s, name=name, email=email, actor=Actor.cli())
        out.print(f"student {row.id}: {cell(row.name)}")


@room_app.command("add", help="Add a room to a branch.")
@friendly
def add_room(
    branch: int = typer.Option(..., "--branch"),
    name: str = typer.Option(..., "--name", callback=name_text),
    capacity: int = typer.Option(..., "--capacity"),
) -> None:
    with session_scope(ready_engine()) as s:
        row = service.create_room(
            s, branch_id=branch, name=name, capacity=capacity, actor=Actor.cli()
        )
        out.print(f"room {row.id}: {cell(row.name)} (capacity {row.capacity})")


def _listing(kind: Kind, include_all: bool) -> list[dict[str, Any]]:
    model = status.MODELS[kind]
    schema = RoomRead if kind == "room" else PersonRead
    query = select(model).order_by(model.id)
    if not include_all:
        query = query.where(model.active)
    with session_scope(ready_engine()) as s:
        rows = s.scalars(query)
        return [schema.model_validate(r).model_dump(mode="json") for r in rows]


def _add_everyday_commands(app: typer.Typer, kind: Kind) -> None:
    columns = ("id", "branch_id", "name", "capacity", "active") if kind == "room" else (
        "id", "name", "email", "active"
    )  # fmt: skip

    @app.command("list", help=f"List {kind}s (active ones unless --all).")
    @friendly
    def list_(include_all: bool = ALL, as_json: bool = JSON) -> None:
        rows = _listing(kind, include_all)
        if as_json:
            typer.echo(json.dumps(rows))
            return
        table = Table(*columns)
        for r in rows:
            table.add_row(*(cell("" if r[c] is None else r[c]) for c in columns))
        out.print(table)

    @app.command("rename", help=f"Give a {kind} a new name.")
    @friendly
    def rename(row_id: Id, name: Name) -> None:
        with session_scope(ready_engine()) as s:
            row = status.rename(s, kind, row_id, name=name, actor=Actor.cli())
            out.print(f"{kind} {row.id}: now {cell(row.name)}")

    @app.command("deactivate", help=f"No new bookings for a {kind}; the lessons stay.")
    @friendly
    def deactivate(row_id: Id) -> None:
        with session_scope(ready_engine()) as s:
            row = status.deactivate(s, kind, row_id, actor=Actor.cli())
            out.print(f"{kind} {row.id} ({cell(row.name)}) deactivated")


def _week(kind: Kind, row_id: int, day: str | None) -> None:
    first = opt_date(day, "--date") or clock.school_today()
    first -= timedelta(days=first.weekday())
    last = first + timedelta(days=6)
    with session_scope(ready_engine()) as s:
        row = status.get(s, kind, row_id)
        rows = sessions.search(
            s,
            teacher_id=row_id if kind == "teacher" else None,
            student_id=row_id if kind == "student" else None,
            date_from=first,
            date_to=last,
            limit=100_000,
        )
        out.print(f"{kind} {row.id} ({cell(row.name)}): week of {first:%a %Y-%m-%d}")
        print_sessions(s, rows, with_branch=True, with_date=True)


@teacher_app.command("week", help="A teacher's lessons of a week (Monday to Sunday).")
@friendly
def teacher_week(
    teacher_id: Id, day: str | None = typer.Option(None, "--date", help="A day of the week.")
) -> None:
    _week("teacher", teacher_id, day)


@student_app.command("week", help="A student's lessons of a week (Monday to Sunday).")
@friendly
def student_week(
    student_id: Id, day: str | None = typer.Option(None, "--date", help="A day of the week.")
) -> None:
    _week("student", student_id, day)


for _app, _kind in ((teacher_app, "teacher"), (student_app, "student"), (room_app, "room")):
    _add_everyday_commands(_app, _kind)  # type: ignore[arg-type]
