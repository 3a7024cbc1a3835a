"""Helpers shared by every domain's commands: errors as one line, exit codes, parsing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import wraps
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from komawari.errors import KomawariError
from komawari.scheduling import values
from komawari.scheduling.parsing import parse_date

err = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def cell(value: object) -> str:
    """Return `value` as table text: control characters escaped, no Rich markup."""
    return escape(values.printable(str(value)))


def friendly(func: F) -> F:
    """Turn Komawari's errors into one clear line and exit code 2, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KomawariError as exc:
            err.print(f"[bold red]error:[/] {cell(exc.detail)}", highlight=False)
            raise typer.Exit(EXIT_USAGE) from None
        except ValidationError as exc:
            for problem in exc.errors():
                where = ".".join(str(p) for p in problem["loc"]) or "input"
                message = cell(f"{where}: {problem['msg']}")
                err.print(f"[bold red]error:[/] {message}", highlight=False)
            raise typer.Exit(EXIT_USAGE) from None

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
