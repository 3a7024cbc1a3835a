"""Codes from services, words from the catalogs.

A service that refuses something, or names a reason, does not write a sentence for a
person: it says *what* happened, as a `Say`: a stable code ("series.not-active"), the
English sentence with named blanks ("this series is %(status)s, not active"), and the
values of the blanks. The sentence is the catalogs' message id: `python3 dev.py i18n`
extracts every `say(...)` call's second argument, and `tests/test_words.py` fails on a
code without both languages, or on one code with two sentences.

- The API answers with the code (`code`, beside the English `detail`, in its RFC 9457
  problem) and the English sentence.
- A page shows the sentence in its own language (`web/i18n.py: words`), with dates and
  numbers written the page's way.
- The command line prints the English sentence (`str(said)`).

Blanks hold values only (names, dates, numbers, a status): never a sentence of their own,
so every word a page shows comes from a catalog.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

CODE = re.compile(r"[a-z]+(?:[.-][a-z0-9]+)+")


@dataclass(frozen=True)
class Say:
    """What happened, as a code, its English sentence and the values of its blanks."""

    code: str
    text: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def english(self) -> str:
        """The sentence in English, its blanks filled plainly (dates as YYYY-MM-DD)."""
        return (
            self.text % {k: _plain(v) for k, v in self.params.items()}
            if self.params
            else (self.text)
        )

    def __str__(self) -> str:
        return self.english


def say(code: str, text: str, /, **params: Any) -> Say:
    """Name what happened: `say("series.not-active", "this series is %(status)s", ...)`.

    `text` must be a literal string (the catalogs' message id) whose blanks are exactly
    the keyword arguments.
    """
    if not CODE.fullmatch(code):
        raise ValueError(f"a code is lowercase words joined by dots or dashes: {code!r}")
    return Say(code, text, params)


def _plain(value: Any) -> Any:
    if isinstance(value, Say):
        return value.english
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "value") and isinstance(value.value, str):  # an enum: its value
        return value.value
    return value


def said_by_validator(error: Mapping[str, Any]) -> Say | None:
    """The `Say` of one Pydantic error raised by a validator of ours (an `InvalidValue`
    that Pydantic keeps in the error's context), else None."""
    cause = (error.get("ctx") or {}).get("error")
    return cause.said if isinstance(cause, InvalidValue) else None


class InvalidValue(ValueError):
    """A schema validator's refusal: Pydantic keeps the exception, so the form shows the
    `Say` in the page's language and the API answers its code."""

    def __init__(self, said: Say) -> None:
        super().__init__(said.english)
        self.said = said
