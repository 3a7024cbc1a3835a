"""Pydantic types for the value rules of `values`, and errors that carry their field."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from komawari.scheduling import values
from komawari.words import InvalidValue, Say, say


def _not_a_number(value: Any) -> Any:
    # Pydantic reads a number (or a string of digits) as seconds since 1970.
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.match(value)):
        raise InvalidValue(
            say(
                "date.number-not-date",
                "give a date as YYYY-MM-DD (a date-time as YYYY-MM-DDTHH:MM+09:00)",
            )
        )
    return value


_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")
Day = Annotated[date, BeforeValidator(_not_a_number), AfterValidator(values.check_day)]
Moment = Annotated[datetime, BeforeValidator(_not_a_number), AfterValidator(values.check_moment)]
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(values.check_name)]
Reason = Annotated[str, Field(max_length=500), AfterValidator(values.check_text)]
GivenReason = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(values.check_name)]
Zone = Annotated[str, Field(max_length=64), AfterValidator(values.check_zone)]


def field_error(field: str, message: str | Say, value: Any) -> ValidationError:
    """Return a validation error of `field`, for rules that look at several fields.

    Given a `Say`, the error carries it (as a validator's `InvalidValue` would): the API
    answers its code and pages show its sentence in their language.
    """
    if isinstance(message, Say):
        said = InitErrorDetails(
            type="value_error", loc=(field,), input=value, ctx={"error": InvalidValue(message)}
        )
        return ValidationError.from_exception_data("invalid input", [said])
    problem = PydanticCustomError("value_error", message)
    return ValidationError.from_exception_data(
        "invalid input", [InitErrorDetails(type=problem, loc=(field,), input=value)]
    )
