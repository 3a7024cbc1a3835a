"""`komawari user ...`: people who sign in to the pages (and use tokens)."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.table import Table

from komawari.audit.service import Actor
from komawari.auth import service, users
from komawari.auth.enums import Role
from komawari.cli.support import friendly
from komawari.db.engine import ready_engine, session_scope

app = typer.Typer(help="Users who sign in: create, list, disable.", no_args_is_help=True)
out = Console()


@app.command("create", help="Create a user with a password (read from standard input).")
@friendly
def create(
    name: str = typer.Argument(..., help="The user name they sign in with."),
    role: Role = typer.Option(..., "--role", help="admin, staff or teacher."),
    branch: list[int] = typer.Option([], "--branch", help="Staff: a branch id (repeatable)."),
    teacher: int | None = typer.Option(None, "--teacher", help="Teacher users: teacher id."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input."
    ),
) -> None:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with session_scope(ready_engine()) as s:
        user = users.create(
            s,
            username=name,
            role=role,
            password=password,
            branch_ids=branch,
            teacher_id=teacher,
            actor=Actor.cli(),
        )
        out.print(f"user {user.username!r} created ({user.role.value}); they can sign in now")


@app.command("list", help="List users, their roles, branches and whether they are active.")
@friendly
def list_(as_json: bool = typer.Option(False, "--json")) -> None:
    with session_scope(ready_engine()) as s:
        rows = [
            {
                "id": u.id,
                "user": u.username,
                "role": u.role.value,
                "branch_ids": service.user_branch_ids(s, u.id),
                "teacher_id": u.teacher_id,
                "active": u.is_active,
                "can_sign_in": u.password_hash is not None and u.is_active,
            }
            for u in service.list_users(s)
        ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table("id", "user", "role", "branches", "teacher", "active", "can sign in")
    for r in rows:
        table.add_row(*(str(v) for v in r.values()))
    out.print(table)


@app.command("disable", help="Disable a user: their tokens and web sessions end at once.")
@friendly
def disable(name: str) -> None:
    with session_scope(ready_engine()) as s:
        ended = users.disable(s, username=name, actor=Actor.cli())
    out.print(
        f"user {name!r} disabled; {ended['tokens_revoked']} token(s) revoked, "
        f"{ended['web_sessions_ended']} web session(s) ended"
    )


@app.command("revoke-branch", help="Remove a user's grant to a branch.")
@friendly
def revoke_branch(name: str, branch: int = typer.Option(..., "--branch")) -> None:
    with session_scope(ready_engine()) as s:
        users.revoke_branch(s, username=name, branch_id=branch, actor=Actor.cli())
    out.print(f"user {name!r} no longer works at branch {branch}")
