"""`komawari teacher|student|room add`."""

from __future__ import annotations

import typer
from rich.console import Console

from komawari.audit.service import Actor
from komawari.cli.support import Name, cell, friendly, name_text
from komawari.db.engine import ready_engine, session_scope
from komawari.people import service

out = Console()
teacher_app = typer.Typer(help="Teachers.", no_args_is_help=True)
student_app = typer.Typer(help="Students.", no_args_is_help=True)
room_app = typer.Typer(help="Rooms.", no_args_is_help=True)


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
