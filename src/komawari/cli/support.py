"""Helpers shared by every domain's commands: errors as one line, exit codes, parsing."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from functools import wraps
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import OperationalError
from typer._click import ClickException  # Typer carries its own copy of Click
from typer.core import TyperArgument, TyperGroup

from komawari.db import errors as db_errors
from komawari.errors import KomawariError
from komawari.scheduling import values
from komawari.scheduling.parsing import parse_date

err = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
_state = {"debug": False}
DEBUG_HINT = "rerun with --debug for the traceback (komawari --debug COMMAND ...)"


def set_debug(on: bool) -> None:
    """Let unexpected errors through with their traceback (the global --debug)."""
    _state["debug"] = on


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {cell(message)}", highlight=False, soft_wrap=True)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class OneLineErrors(TyperGroup):
    """The root command: a usage error is one line naming the option, exit 2 (no panel)."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command; print a usage error as one line; exit as click would."""
        _negative_ids_as_values(self)
        try:
            result = super().main(
                args, prog_name, complete_var, False, windows_expand_args, **extra
            )
        except ClickException as exc:
            if not standalone_mode:
                raise
            ctx = getattr(exc, "ctx", None)
            where = f" (see {ctx.command_path} --help)" if ctx is not None else ""
            _fail(exc.format_message() + where)
            sys.exit(exc.exit_code)
        except typer.Abort:
            if not standalone_mode:
                raise
            err.print("aborted; nothing changed")
            sys.exit(EXIT_PROBLEMS)
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else EXIT_OK)


def _negative_ids_as_values(group: TyperGroup) -> None:
    # Click reads "-5" as an unknown option; commands that take an id read it as a value,
    # so that the id's own check can say what is wrong with it.
    for command in group.commands.values():
        if isinstance(command, TyperGroup):
            _negative_ids_as_values(command)
        elif any(isinstance(p, TyperArgument) and _is_id(p) for p in command.params):
            command.ignore_unknown_options = True


def _is_id(param: TyperArgument) -> bool:
    callback = getattr(param.callback, "__wrapped__", param.callback)  # Typer wraps it
    return callback is positive_id


def positive_id(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> Any:
    """Refuse an id below 1, naming the argument."""
    if isinstance(value, int) and value < 1:
        name = (param.name or "id").upper()
        raise typer.BadParameter(
            f"{value} is not an id (ids are whole numbers from 1)", param_hint=name
        )
    return value


Id = Annotated[int, typer.Argument(callback=positive_id)]


def cell(value: object) -> str:
    """Return `value` as table text: control characters escaped, no Rich markup."""
    return escape(values.printable(str(value)))


def exit_code(exc: KomawariError) -> int:
    """Return a refusal's exit code: 1 when the change was refused (a conflict, a guard,
    not allowed), 2 for a usage or environment error (a bad value, an unknown id, a
    database that cannot answer), as docs/operations.md states them."""
    return EXIT_PROBLEMS if exc.status_code in (403, 409, 423, 429) else EXIT_USAGE


def friendly(func: F) -> F:
    """Turn every error into one clear line (exit 1 refused, 2 usage), no traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KomawariError as exc:
            _fail(exc.detail)
            raise typer.Exit(exit_code(exc)) from None
        except ValidationError as exc:
            for problem in exc.errors():
                where = ".".join(str(p) for p in problem["loc"]) or "input"
                _fail(f"{where}: {problem['msg']}")
            raise typer.Exit(EXIT_USAGE) from None
        except (typer.Exit, typer.Abort, ClickException):
            raise
        except Exception as exc:
            if _state["debug"]:
                raise
            found = db_errors.meaning(exc)
            if isinstance(found, db_errors.Unavailable) and isinstance(exc, OperationalError):
                _fail(f"the database could not answer: {_first_line(exc)}")
            elif found is not None:
                _fail(found.detail)
            else:
                _fail(f"unexpected {type(exc).__name__}: {_first_line(exc)}")
            if not isinstance(found, db_errors.Unavailable):
                err.print(DEBUG_HINT, highlight=False)
            raise typer.Exit(EXIT_PROBLEMS if found is None else exit_code(found)) from None

    return wrapper  # type: ignore[return-value]


def opt_date(value: str | None, hint: str) -> date | None:
    """Parse an optional YYYY-MM-DD option, naming it when it is wrong."""
    return None if value is None else req_date(value, hint)


def req_date(value: str, hint: str) -> date:
    """Parse a YYYY-MM-DD option or argument, naming it when it is wrong."""
    try:
        return parse_date(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=hint) from exc


def moment(value: str, hint: str) -> datetime:
    """Parse an ISO date or date-time option (UTC unless it has an offset), naming it."""
    try:
        parsed = datetime.fromisoformat(value)
        values.check_moment(parsed)
    except ValueError as exc:
        message = f"{value!r}: expected an ISO date or date-time; {exc}"
        raise typer.BadParameter(message, param_hint=hint) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _checked(
    rule: Callable[[str], str],
) -> Callable[[typer.Context, typer.CallbackParam, Any], Any]:
    def callback(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> Any:
        if isinstance(value, str):
            try:
                rule(value)
            except ValueError as exc:
                name = (param.opts or [param.name or "value"])[0]
                raise typer.BadParameter(f"{value!r} {exc}", param_hint=name) from exc
        return value

    return callback


# Callbacks for human text given on the command line: names, titles and reasons.
name_text = _checked(values.check_name)
free_text = _checked(values.check_text)
Name = Annotated[str, typer.Argument(callback=name_text)]
