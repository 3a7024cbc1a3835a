"""Date fields refuse numbers: pydantic would read one as seconds since 1970."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from komawari.scheduling.fields import Day, Moment

HOW = "give a date as YYYY-MM-DD (a date-time as YYYY-MM-DDTHH:MM+09:00)"


@pytest.mark.parametrize("value", [20261201, 1764547200.0, "20261201", " 1.5e9 ", "-1"])
@pytest.mark.parametrize("kind", [Day, Moment])
def test_a_number_for_a_date_is_refused_saying_how_to_write_one(value: Any, kind: Any) -> None:
    with pytest.raises(ValidationError) as info:
        TypeAdapter(kind).validate_python(value)
    assert info.value.errors()[0]["msg"] == f"Value error, {HOW}"


def test_a_date_written_as_a_date_is_read() -> None:
    assert TypeAdapter(Day).validate_python("2026-12-01") == date(2026, 12, 1)
    moment = TypeAdapter(Moment).validate_python("2026-12-01T09:00+09:00")
    assert isinstance(moment, datetime)
    assert moment.isoformat() == "2026-12-01T09:00:00+09:00"
