"""The value rules: bounded dates, human text without control characters, zone names."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from komawari.scheduling import values
from komawari.scheduling.parsing import parse_date


@pytest.mark.parametrize("day", [date(1900, 1, 1), date(2026, 12, 1), date(2200, 12, 31)])
def test_dates_within_the_years_are_accepted(day: date) -> None:
    assert values.check_day(day) == day
    assert parse_date(day.isoformat()) == day


@pytest.mark.parametrize("day", [date(1, 1, 1), date(1899, 12, 31), date(2201, 1, 1), date.max])
def test_dates_outside_the_years_are_refused_naming_them(day: date) -> None:
    with pytest.raises(ValueError, match="outside the years 1900 to 2200"):
        values.check_day(day)
    with pytest.raises(ValueError, match=day.isoformat()):
        parse_date(day.isoformat())


def test_moments_and_years_are_bounded_the_same_way() -> None:
    with pytest.raises(ValueError, match="outside"):
        values.check_moment(datetime(1, 1, 1))
    assert values.check_moment(datetime(2200, 12, 31, 23, 59)).year == 2200
    assert [values.clamp_year(y) for y in (1, 2026, 9999)] == [1900, 2026, 2200]


@pytest.mark.parametrize(
    "text",
    ["\x00", "a\x07b", "\x1b]0;owned\x07\x1b[2J", "tab\there", "line\n", "\x7f", "\x85", "\x9f"],
)
def test_c0_del_and_c1_control_characters_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="control character U\\+00"):
        values.check_text(text)
    with pytest.raises(ValueError, match="control character"):
        values.check_name(text)


@pytest.mark.parametrize("name", ["Sato", "佐藤 先生", "Zoë", "O'Brien-Smith", "A", "7", "😀"])
def test_ordinary_names_are_accepted(name: str) -> None:
    assert values.check_name(name) == name
    assert values.check_text(name) == name


@pytest.mark.parametrize(
    "name", [" ", "\u200b\u200b", "\u3000", "\u3164", "\u2800", "\u0301", "\ufeff"]
)
def test_names_of_only_invisible_characters_are_refused(name: str) -> None:
    assert values.check_text(name) == name  # no control character: a reason may hold them
    with pytest.raises(ValueError, match="no visible character"):
        values.check_name(name)


@pytest.mark.parametrize(
    "char",
    ["\u202e", "\u202a", "\u2066", "\u2069", "\u200e", "\u200f", "\u061c", "\u2028", "\u2029"],
)
def test_bidi_controls_and_line_separators_are_refused_in_names_and_text(char: str) -> None:
    # They reorder what follows them on screen, or break a line nobody typed.
    with pytest.raises(ValueError, match=f"control character U\\+{ord(char):04X} at position 3"):
        values.check_name(f"Ito{char}Ren")
    with pytest.raises(ValueError, match="control character"):
        values.check_text(f"Ito{char}")
    assert values.printable(f"a{char}b") == f"a\\u{ord(char):04x}b"


def test_the_characters_around_the_bidi_controls_are_kept() -> None:
    for neighbour in ("\u2027", "\u202f", "\u2065", "\u206a", "\u200d", "\u061b"):
        assert values.check_text(f"a{neighbour}") == f"a{neighbour}"


def test_printable_escapes_control_characters_and_keeps_the_rest() -> None:
    assert values.printable("\x1b]0;owned\x07\x1b[2J") == "\\x1b]0;owned\\x07\\x1b[2J"
    assert values.printable("佐藤\x85") == "佐藤\\x85"
    assert values.printable("plain, text") == "plain, text"


@pytest.mark.parametrize(
    "name", ["posix/Asia/Tokyo", "right/Asia/Tokyo", "posixrules", "localtime", "Mars/Base", ""]
)
def test_host_aliases_and_unknown_names_are_not_zones(name: str) -> None:
    with pytest.raises(ValueError, match="is not an IANA time zone"):
        values.check_zone(name)


def test_a_zone_the_database_does_not_know_is_refused_naming_the_server() -> None:
    assert values.check_zone("Asia/Tokyo") == "Asia/Tokyo"
    assert values.check_zone("Asia/Tokyo", {"Asia/Tokyo"}) == "Asia/Tokyo"
    with pytest.raises(ValueError, match="database server's time-zone data"):
        values.check_zone("America/Coyhaique", {"Asia/Tokyo"})
