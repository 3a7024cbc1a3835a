"""Helpers shared by every domain's commands: errors as one line, exit codes, parsing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from komawari.errors import KomawariError
from komawari.scheduling.parsing import parse_date

err = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def friendly(func: F) -> F:
    """Turn Komawari's errors into one clear line and exit code 2, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KomawariError as exc:
            err.print(f"[bold red]error:[/] {exc.detail}", highlight=False)
            raise typer.Exit(EXIT_USAGE) from None
        except ValidationError as exc:
            for problem in exc.errors():
                where = ".".join(str(p) for p in problem["loc"]) or "input"
                err.print(f"[bold red]error:[/] {where}: {problem['msg']}", highlight=False)
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
