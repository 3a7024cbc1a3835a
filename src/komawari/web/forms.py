"""HTML forms to schema input and back: values kept as typed, errors next to their field."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from komawari.errors import InvalidInput, KomawariError
from komawari.words import Say, said_by_validator, say

Errors = dict[str, Say | str]  # {field: what to say}; a template writes it (`said`)

# What a page says for Pydantic's own errors (its English stays in the API's `message`).
_PYDANTIC = {
    "missing": say("value.missing", "this is required"),
    "int_parsing": say("value.not-a-number", "enter a whole number"),
    "int_type": say("value.not-a-number", "enter a whole number"),
    "float_parsing": say("value.not-a-number", "enter a whole number"),
    "greater_than": say("value.too-small", "this number is too small"),
    "greater_than_equal": say("value.too-small", "this number is too small"),
    "less_than": say("value.too-large", "this number is too large"),
    "less_than_equal": say("value.too-large", "this number is too large"),
    "string_too_long": say("value.too-long", "this is too long"),
    "string_too_short": say("value.empty", "this cannot be empty"),
    "too_long": say("value.too-many", "too many values"),
    "date_from_datetime_parsing": say("value.not-a-date", "enter a date as YYYY-MM-DD"),
    "date_parsing": say("value.not-a-date", "enter a date as YYYY-MM-DD"),
    "date_type": say("value.not-a-date", "enter a date as YYYY-MM-DD"),
    "time_parsing": say("value.not-a-time", "enter a time as HH:MM (24-hour)"),
    "time_type": say("value.not-a-time", "enter a time as HH:MM (24-hour)"),
    "enum": say("value.not-a-choice", "pick one of the choices"),
    "literal_error": say("value.not-a-choice", "pick one of the choices"),
    "bool_parsing": say("value.not-a-choice", "pick one of the choices"),
}

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


def errors(exc: Exception) -> Errors:
    """Return {field: what to say} for a validation error or a domain error naming its
    field; a page's template writes each in its language (the `said` filter)."""
    if isinstance(exc, InvalidInput):
        return {exc.field: exc.said or exc.detail.removeprefix(f"{exc.field}: ")}
    if isinstance(exc, ValidationError):
        return pydantic_errors(exc.errors())
    if isinstance(exc, KomawariError):
        return {"form": exc.words}
    return {"form": str(exc)}


def pydantic_errors(problems: Iterable[Mapping[str, Any]]) -> Errors:
    """Return {field: what to say} for Pydantic's errors (a form's or an address's)."""
    found: Errors = {}
    for problem in problems:
        loc = [str(p) for p in problem.get("loc", ()) if not isinstance(p, int)]
        if loc and loc[0] in ("body", "query", "path") and len(loc) > 1:
            loc = loc[1:]
        field = loc[0] if loc else "form"
        said = said_by_validator(problem)
        if said is not None:
            found.setdefault(field, said)
        elif problem.get("type") in _PYDANTIC:
            found.setdefault(field, _PYDANTIC[problem["type"]])
        else:
            message = str(problem.get("msg", "not valid")).removeprefix("Value error, ")
            found.setdefault(field, message)
    return found


def refused(db: Session) -> None:
    """Roll back what a refused change had written, before its form is shown again.

    The route rolls back every answer of 400 or more anyway; this makes the form, and the
    preview beside it, read the database as it was before the refused change.
    """
    db.rollback()
