"""HTML forms to schema input and back: values kept as typed, errors next to their field."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from komawari.errors import InvalidInput

LISTS = frozenset({"weekdays", "student_ids"})


def values(items: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Return a form's fields as a dict: empty fields left out, list fields as lists."""
    out: dict[str, Any] = {}
    for key, raw in items:
        value = raw.strip() if isinstance(raw, str) else raw
        if key in LISTS:
            out.setdefault(key, [])
            if value != "":
                out[key].append(value)
        elif value != "" and key != "csrf_token":
            out[key] = value
    return out


def errors(exc: Exception) -> dict[str, str]:
    """Return {field: message} for a validation error or a domain error naming its field."""
    if isinstance(exc, InvalidInput):
        return {exc.field: exc.detail.removeprefix(f"{exc.field}: ")}
    if isinstance(exc, ValidationError):
        found: dict[str, str] = {}
        for problem in exc.errors():
            loc = [str(p) for p in problem.get("loc", ()) if not isinstance(p, int)]
            field = loc[0] if loc else "form"
            message = str(problem.get("msg", "not valid")).removeprefix("Value error, ")
            found.setdefault(field, message)
        return found
    return {"form": str(exc)}


def refused(db: Session) -> None:
    """Roll back what a refused change had written, before its form is shown again.

    The route rolls back every answer of 400 or more anyway; this makes the form, and the
    preview beside it, read the database as it was before the refused change.
    """
    db.rollback()
