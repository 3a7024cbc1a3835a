"""Reading the legacy files: weekdays as sets, offsets required, every problem with its line."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from komawari.ops.legacy_csv import (
    parse_booked,
    parse_days,
    parse_instant,
    read_series,
    read_sessions,
)
from komawari.scheduling.weekdays import to_mask

SERIES_HEAD = "id,branch,teacher,student,start_time,end_time,days_of_week,status,created_at\n"
SESSION_HEAD = "id,series_id,date,start_time,end_time,teacher,student,status,created_at\n"


@given(st.lists(st.integers(1, 7), min_size=1, max_size=10))
def test_days_in_any_order_with_repeats_are_one_set(days: list[int]) -> None:
    shuffled = str(list(reversed(days)) + days[:1])
    assert parse_days(str(days)) == parse_days(shuffled) == to_mask(set(days))


@pytest.mark.parametrize("value", ["[8]", "[0,1]", "[]", "1,4", '["mon"]', "[true]", "{}"])
def test_a_bad_weekday_list_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match=r"weekday|JSON array"):
        parse_days(value)


def test_an_instant_needs_an_offset() -> None:
    assert parse_instant("2026-11-01T09:00:00+09:00").utcoffset() == timedelta(hours=9)
    assert parse_instant("2026-11-01T00:00:00Z").utcoffset() == timedelta(0)
    with pytest.raises(ValueError, match="no UTC offset"):
        parse_instant("2026-11-01T09:00:00")


def test_a_booking_time_in_the_future_is_refused(tmp_path: Path) -> None:
    # Booking order is commit order: a row booked "later" than the rows made now would
    # escape the verdicts of generation, so a legacy clock that ran ahead is an error.
    ahead = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert parse_booked("2026-11-01T09:00:00+09:00").year == 2026
    with pytest.raises(ValueError, match="lies in the future"):
        parse_booked(ahead)
    path = tmp_path / "sessions.csv"
    path.write_text(
        SESSION_HEAD + f"L1,,2026-12-03,20:00,21:30,Sato,Ito,CONFIRMED,{ahead}\n",
        encoding="utf-8",
    )
    rows, errors = read_sessions(path)
    assert rows == []
    assert [(e.line, e.legacy_id) for e in errors] == [(2, "L1")]
    assert "created_at" in errors[0].message
    assert "lies in the future" in errors[0].message


def test_rows_are_read_with_every_problem_and_the_header_as_line_1(tmp_path: Path) -> None:
    path = tmp_path / "series.csv"
    path.write_text(
        "\ufeff"  # a byte order mark, as spreadsheet programs write
        + SERIES_HEAD
        + 'S1,Shibuya,Sato,Ito,20:00,21:30:00,"[4,1]",active,2026-09-01T10:00:00+09:00\n'
        + "S2,Shibuya,,Ito,21:00,20:00,[9],DONE,2026-09-01\n"
        + "S1,Shibuya,Sato,Ito,20:00,21:30,[1],ACTIVE,2026-09-01T10:00:00+09:00\n",
        encoding="utf-8",
    )
    rows, errors = read_series(path)
    assert [(r.legacy_id, r.weekdays, r.end_time, r.status) for r in rows] == [
        ("S1", 0b1001, time(21, 30), "ACTIVE")
    ]
    assert [(e.file, e.line) for e in errors] == [("series.csv", 3), ("series.csv", 4)]
    for fragment in ("teacher: required", "end_time", "days_of_week", "status", "created_at"):
        assert fragment in errors[0].message
    assert "already used on line 2" in errors[1].message


def test_midnight_is_a_time_like_any_other(tmp_path: Path) -> None:
    path = tmp_path / "sessions.csv"
    path.write_text(
        SESSION_HEAD
        + "L1,,2026-12-03,00:00,01:00,Sato,Ito,CONFIRMED,2026-11-01T00:00:00+09:00\n"
        + "L2,,2026-12-03,01:00,00:00,Sato,Ito,CONFIRMED,2026-11-01T00:00:00+09:00\n"
    )
    rows, errors = read_sessions(path)
    assert [r.legacy_id for r in rows] == ["L1"]
    assert rows[0].series_id is None
    assert [(e.line, e.message) for e in errors] == [
        (3, "end_time: 00:00 is not after start_time 01:00")
    ]


def test_names_and_ids_longer_than_the_columns_are_bad_rows_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "sessions.csv"
    long_name, long_id = "x" * 201, "L" * 101
    path.write_text(
        SESSION_HEAD
        + f"{long_id},,2026-12-03,09:00,10:00,Sato,Ito,CONFIRMED,2026-11-01T00:00:00+09:00\n"
        + f"L2,,2026-12-03,09:00,10:00,{long_name},Ito,CONFIRMED,2026-11-01T00:00:00+09:00\n"
    )
    rows, errors = read_sessions(path)
    assert rows == []
    assert [e.message for e in errors] == [
        "id: longer than 100 characters",
        "teacher: longer than 200 characters",
    ]


BOOKED = "2026-11-01T00:00:00+09:00"


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        (f"L1,,0001-01-01,09:00,10:00,Sato,Ito,CONFIRMED,{BOOKED}", "date: 0001-01-01 is outside"),
        (f"L1,,9999-12-31,09:00,10:00,Sato,Ito,CONFIRMED,{BOOKED}", "date: 9999-12-31 is outside"),
        ("L1,,2026-12-03,09:00,10:00,Sato,Ito,CONFIRMED,0001-01-01T00:00+00:00", "created_at:"),
        (f"L1,,2026-12-03,09:00,10:00,Sato\x1b[2J,Ito,CONFIRMED,{BOOKED}", "teacher: contains"),
        (f"L1,,2026-12-03,09:00,10:00,Sato,I\x85to,CONFIRMED,{BOOKED}", "student: contains"),
        (f"L1,,2026-12-03,09:00,10:00,Sato,\u200b,CONFIRMED,{BOOKED}", "student: has no visible"),
        (f"L\x07,,2026-12-03,09:00,10:00,Sato,Ito,CONFIRMED,{BOOKED}", "id: contains"),
        (f"L1,S\x01,2026-12-03,09:00,10:00,Sato,Ito,CONFIRMED,{BOOKED}", "series_id: contains"),
    ],
)
def test_out_of_range_dates_and_control_characters_are_bad_rows_naming_the_field(
    tmp_path: Path, fields: str, problem: str
) -> None:
    path = tmp_path / "sessions.csv"
    good = f"L0,,2026-12-03,11:00,12:00,Sato,Ito,CONFIRMED,{BOOKED}"
    path.write_text(SESSION_HEAD + good + "\n" + fields + "\n", encoding="utf-8")
    rows, errors = read_sessions(path)
    assert [r.legacy_id for r in rows] == ["L0"]
    assert [(e.file, e.line) for e in errors] == [("sessions.csv", 3)]
    assert problem in errors[0].message


def test_a_series_named_with_control_characters_is_a_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "series.csv"
    path.write_text(
        SERIES_HEAD + f"S1,Shibuya\x1b]0;x\x07,Sato,Ito,20:00,21:00,[1],ACTIVE,{BOOKED}\n",
        encoding="utf-8",
    )
    rows, errors = read_series(path)
    assert rows == []
    assert errors[0].message == "branch: contains the control character U+001B at position 7"
