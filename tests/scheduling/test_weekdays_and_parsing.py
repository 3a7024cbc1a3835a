"""Weekday sets, times and dates from text, and errors that name their field."""

from __future__ import annotations

from datetime import date, time

import pytest
from pydantic import ValidationError

from komawari.scheduling import parsing, weekdays
from komawari.scheduling.fields import field_error
from komawari.words import InvalidValue, say


@pytest.mark.parametrize(
    ("value", "iso"),
    [(1, 1), (7, 7), ("3", 3), (" Mon ", 1), ("sun", 7), ("TUESDAY", 2), ("sunday", 7)],
)
def test_a_weekday_is_a_number_or_a_name(value: int | str, iso: int) -> None:
    assert weekdays.parse_weekday(value) == iso


@pytest.mark.parametrize("value", [0, 8, -1, True, "8", "0", "mo", "", "moon"])
def test_anything_else_is_not_a_weekday(value: int | str) -> None:
    with pytest.raises(weekdays.WeekdayError, match="is not"):
        weekdays.parse_weekday(value)


def test_a_weekday_set_is_one_mask_whatever_the_order_and_repeats() -> None:
    assert weekdays.to_mask(["thu", 1, "mon", "4"]) == 0b0001001
    assert weekdays.to_mask(["sun"]) == 0b1000000
    assert weekdays.to_mask(range(1, 8)) == weekdays.ALL_DAYS
    with pytest.raises(weekdays.WeekdayError, match=r"^at least one weekday is required$"):
        weekdays.to_mask([])


def test_a_mask_gives_back_its_days_and_names() -> None:
    assert weekdays.from_mask(1) == [1]
    assert weekdays.from_mask(0b1000001) == [1, 7]
    assert weekdays.from_mask(weekdays.ALL_DAYS) == [1, 2, 3, 4, 5, 6, 7]
    assert weekdays.mask_names(0b0001001) == "mon,thu"
    for bad in (0, 128, -1):
        with pytest.raises(weekdays.WeekdayError, match=f"{bad} is not a weekday mask"):
            weekdays.from_mask(bad)


@pytest.mark.parametrize(
    ("text", "value"),
    [("00:00", time(0)), ("09:05", time(9, 5)), (" 23:59 ", time(23, 59)),
     ("19:59:58", time(19, 59, 58)), ("20:00:00", time(20))],
)  # fmt: skip
def test_a_time_is_hh_mm_with_optional_seconds(text: str, value: time) -> None:
    assert parsing.parse_time(text) == value


@pytest.mark.parametrize("text", ["24:00", "9:05", "12:60", "12:00:60", "noon", "", "1200"])
def test_anything_else_is_not_a_time(text: str) -> None:
    with pytest.raises(ValueError, match="is not a time of day as HH:MM"):
        parsing.parse_time(text)


def test_a_number_is_not_a_time() -> None:
    with pytest.raises(ValueError, match="'1200' is not a time"):
        parsing.parse_time(1200)  # type: ignore[arg-type]


def test_a_date_is_iso_within_the_accepted_years() -> None:
    assert parsing.parse_date(" 2026-12-03 ") == date(2026, 12, 3)
    with pytest.raises(ValueError, match="1899"):
        parsing.parse_date("1899-12-31")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("2026-13-01", "2026-13-01: there is no month 13"),
        ("2026-00-10", "2026-00-10: there is no month 0"),
        ("2026-02-30", "2026-02-30: February 2026 has 28 days (not 30)"),
        ("2024-02-30", "2024-02-30: February 2024 has 29 days (not 30)"),
        ("2026-04-31", "2026-04-31: April 2026 has 30 days (not 31)"),
        ("2026-12-32", "2026-12-32: December 2026 has 31 days (not 32)"),
        ("0000-01-00", "0000-01-00: January 0 has 31 days (not 0)"),
        ("3 Dec", "'3 Dec' is not a date as YYYY-MM-DD"),
        (None, "None is not a date as YYYY-MM-DD"),
    ],
)
def test_an_impossible_date_says_why(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=r"\S") as caught:
        parsing.parse_date(text)
    assert str(caught.value) == why


def test_a_rule_over_several_fields_names_its_field() -> None:
    error = field_error("end_time", "ends before it starts", "18:00")
    assert isinstance(error, ValidationError)
    (detail,) = error.errors()
    assert detail["loc"] == ("end_time",)
    assert detail["msg"] == "ends before it starts"
    assert detail["type"] == "value_error"
    assert detail["input"] == "18:00"
    assert error.title == "invalid input"


def test_a_rule_over_several_fields_carries_what_it_says() -> None:
    said = say("time.end-not-after-start", "must be after the start time")
    (detail,) = field_error("end_time", said, "18:00").errors()
    assert detail["loc"] == ("end_time",)
    assert detail["msg"] == "Value error, must be after the start time"
    assert isinstance(detail["ctx"]["error"], InvalidValue)
    assert detail["ctx"]["error"].said == said


def test_a_weekday_refusal_says_it_with_a_code() -> None:
    with pytest.raises(InvalidValue) as caught:
        weekdays.parse_weekday("funday")
    assert caught.value.said.code == "weekday.unknown"
    assert str(caught.value) == "'funday' is not a weekday (use 1-7 or mon..sun)"
