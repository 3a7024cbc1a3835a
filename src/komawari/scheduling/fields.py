"""Pydantic types for the value rules of `values`, and errors that carry their field."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from komawari.scheduling import values

Day = Annotated[date, AfterValidator(values.check_day)]
Moment = Annotated[datetime, AfterValidator(values.check_moment)]
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(values.check_name)]
Reason = Annotated[str, Field(max_length=500), AfterValidator(values.check_text)]
GivenReason = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(values.check_name)]
Zone = Annotated[str, Field(max_length=64), AfterValidator(values.check_zone)]


def field_error(field: str, message: str, value: Any) -> ValidationError:
    """Return a validation error of `field`, for rules that look at several fields."""
    problem = PydanticCustomError("value_error", message)
    return ValidationError.from_exception_data(
        "invalid input", [InitErrorDetails(type=problem, loc=(field,), input=value)]
    )
