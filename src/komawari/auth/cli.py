"""`komawari token ...`: API tokens (created and revoked by the operator), users, feed keys."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import typer
from rich.console import Console
from rich.table import Table

from komawari.audit.service import Actor
from komawari.auth import feeds, service
from komawari.auth.enums import Role
from komawari.cli.support import Id, cell, friendly, name_text
from komawari.db.engine import ready_engine, session_scope

_LIFETIME = re.compile(r"^([1-9]\d{0,4})([hdw])$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_lifetime(value: str | None) -> timedelta | None:
    """Turn 90d, 12w or 24h into a duration (None: no expiry)."""
    match = _LIFETIME.match(value.strip().lower()) if value else None
    if value is None:
        return None
    if match is None:
        raise ValueError(f"{value!r} is not a lifetime such as 90d, 12w or 24h")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def lifetime(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> str | None:
    """Check --expires-in, naming it when it is wrong."""
    try:
        parse_lifetime(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--expires-in") from exc
    return value


app = typer.Typer(
    help="API tokens: create, list, revoke (and passwords, calendar feed keys).",
    no_args_is_help=True,
)
out = Console()


@app.command("create", help="Create a token (and the user, when missing); shown once.")
@friendly
def create(
    user: str = typer.Option(
        ..., "--user", help="User name; created when missing.", callback=name_text
    ),
    role: Role | None = typer.Option(None, "--role", help="admin, staff or teacher."),
    branch: list[int] = typer.Option([], "--branch", help="Staff: a branch id (repeatable)."),
    teacher: int | None = typer.Option(None, "--teacher", help="Teacher users: teacher id."),
    name: str = typer.Option("cli", "--name", help="A label for the token.", callback=name_text),
    expires_in: str | None = typer.Option(
        None,
        "--expires-in",
        help="Lifetime such as 90d, 12w or 24h (default: no expiry).",
        callback=lifetime,
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    with session_scope(ready_engine()) as s:
        row, created = service.ensure_user(
            s,
            username=user,
            role=role,
            branch_ids=branch,
            teacher_id=teacher,
            actor=Actor.cli(),
        )
        token, secret = service.create_token(
            s, user=row, name=name, actor=Actor.cli(), expires_in=parse_lifetime(expires_in)
        )
        branches = service.user_branch_ids(s, row.id)
        info = {
            "token_id": token.id,
            "token": secret,
            "user": row.username,
            "role": row.role.value,
            "branch_ids": branches,
            "user_created": created,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        }
    if as_json:
        typer.echo(json.dumps(info))
        return
    if created:
        out.print(f"user {user!r} created ({info['role']})")
    until = f", valid until {info['expires_at']}" if info["expires_at"] else ", no expiry"
    out.print(f"token {info['token_id']} for {user!r}{until}; shown once, keep it safe:")
    typer.echo(secret)


@app.command("list", help="List tokens (never their secrets).")
@friendly
def list_(
    user: str | None = typer.Option(None, "--user"),
    include_revoked: bool = typer.Option(False, "--all", help="Also revoked tokens."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    with session_scope(ready_engine()) as s:
        rows = [
            {
                "id": t.id,
                "user": u.username,
                "role": u.role.value,
                "name": t.name,
                "prefix": t.prefix,
                "created_at": t.created_at.isoformat(),
                "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
                "expires_at": t.expires_at.isoformat() if t.expires_at else None,
            }
            for t, u in service.list_tokens(s, username=user, include_revoked=include_revoked)
        ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table(
        "id", "user", "role", "name", "prefix", "created", "last used", "revoked", "expires"
    )
    for r in rows:
        table.add_row(*(cell(r[k] or "") for k in r))
    out.print(table)


@app.command("revoke", help="Revoke a token: it stops working at once.")
@friendly
def revoke(token_id: Id) -> None:
    with session_scope(ready_engine()) as s:
        token = service.revoke_token(s, token_id, actor=Actor.cli())
        out.print(f"token {token.id} ({token.prefix}...) revoked")


@app.command("password", help="Set a user's password (argon2), asked twice.")
@friendly
def password(
    user: str = typer.Option(..., "--user"),
    value: str = typer.Option(
        ..., "--password", prompt=True, hide_input=True, confirmation_prompt=True
    ),
) -> None:
    with session_scope(ready_engine()) as s:
        service.set_password(s, username=user, password=value, actor=Actor.cli())
    out.print(f"password of {user!r} set")


@app.command("feed", help="Create or rotate a calendar feed key; prints the feed URL once.")
@friendly
def feed(
    teacher: int | None = typer.Option(None, "--teacher"),
    student: int | None = typer.Option(None, "--student"),
    base_url: str = typer.Option("http://127.0.0.1:8000", "--base-url"),
) -> None:
    if (teacher is None) == (student is None):
        raise typer.BadParameter("give --teacher or --student", param_hint="--teacher")
    owner_type: feeds.OwnerType = "teacher" if teacher is not None else "student"
    owner_id = teacher if teacher is not None else student
    assert owner_id is not None
    with session_scope(ready_engine()) as s:
        key = feeds.rotate(s, owner_type=owner_type, owner_id=owner_id, actor=Actor.cli())
    out.print(f"{owner_type} {owner_id}: new feed key (the previous URL stops working):")
    typer.echo(base_url.rstrip("/") + feeds.feed_path(owner_type, owner_id, key))
