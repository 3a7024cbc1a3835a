"""The limits and messages of the legacy readers, exactly: a file or a line at the limit is
read, one byte more is refused naming the file, the line and the limit; every row problem is
reported, and a row with any problem is not read."""

from __future__ import annotations

import re
import tracemalloc
from pathlib import Path

import pytest

from komawari.errors import InvalidInput
from komawari.ops import legacy_text
from komawari.ops.legacy_csv import ID_LENGTH, NAME_LENGTH, read_series, read_sessions

MIB = 2**20
BOOKED = "2026-11-01T00:00:00+09:00"
SERIES_HEAD = "id,branch,teacher,student,start_time,end_time,days_of_week,status,created_at\n"
SESSION_HEAD = "id,series_id,date,start_time,end_time,teacher,student,status,created_at\n"
SERIES_ROW = "{id},Shibuya,Sato,Ito,20:00,21:00,[1],ACTIVE,{booked}\n"
SESSION_ROW = "{id},,2026-12-03,09:00,10:00,Sato,Ito,CONFIRMED,{booked}\n"


def _write(tmp_path: Path, data: bytes, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _records(path: Path, encoding: str = "utf-8") -> list[tuple[int, dict[str, str | None]]]:
    return list(legacy_text.records(path, ("a",), encoding))


def _refusal(path: Path, encoding: str = "utf-8") -> InvalidInput:
    with pytest.raises(InvalidInput) as refused:
        _records(path, encoding)
    assert refused.value.field == str(path)
    return refused.value


def _file_of_exactly(size: int) -> bytes:
    """A one-column CSV file of `size` bytes (a multiple of 64 KiB), in lines of 64 KiB."""
    line = 2**16
    body = b"a\n" + (b"x" * (line - 1) + b"\n") * (size // line - 1)
    return body + b"x" * (line - 3) + b"\n"


# --- the file ---------------------------------------------------------------------------


def test_a_file_that_cannot_be_opened_is_refused_naming_the_file_and_the_os_reason(
    tmp_path: Path,
) -> None:
    path = tmp_path / "absent.csv"
    refused = _refusal(path)
    assert refused.detail == f"{path}: cannot read the file: No such file or directory"


def test_a_file_of_exactly_the_size_limit_is_read_to_its_last_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(legacy_text, "MAX_FILE_BYTES", 3 * MIB)
    path = _write(tmp_path, _file_of_exactly(3 * MIB))
    assert path.stat().st_size == 3 * MIB
    read = _records(path)
    assert len(read) == 48
    assert read[-1][0] == 49


def test_a_file_over_the_size_limit_is_refused_naming_the_file_and_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(legacy_text, "MAX_FILE_BYTES", 3 * MIB)
    path = _write(tmp_path, _file_of_exactly(3 * MIB) + b"y")
    refused = _refusal(path)
    assert refused.detail == f"{path}: larger than 3 MiB; split it"


def test_a_file_that_grows_past_the_limit_while_read_is_refused_at_the_line_that_passes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(legacy_text, "MAX_FILE_BYTES", 3 * MIB)
    path = _write(tmp_path, _file_of_exactly(3 * MIB))
    reading = legacy_text.records(path, ("a",), "utf-8")
    assert next(reading)[0] == 2  # the size was checked when the file was opened
    with path.open("ab") as appending:
        appending.write(b"y\n" * 3)
    with pytest.raises(InvalidInput) as refused:
        list(reading)
    assert refused.value.field == str(path)
    # lines 1..49 are the 3 MiB; line 50 is the first byte past it
    assert refused.value.detail == f"{path}: line 50: past 3 MiB; split it"


# --- a line -----------------------------------------------------------------------------


def test_a_line_of_exactly_the_line_limit_with_its_newline_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(legacy_text, "MAX_LINE_BYTES", 2048)
    path = _write(tmp_path, b"a\n" + b"x" * 2047 + b"\n")
    assert _records(path) == [(2, {"a": "x" * 2047})]


def test_a_line_one_byte_over_the_limit_is_refused_with_its_number_and_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(legacy_text, "MAX_LINE_BYTES", 2048)
    path = _write(tmp_path, b"a\nok\n" + b"x" * 2048 + b"\n")
    refused = _refusal(path)
    assert refused.detail == f"{path}: line 3: longer than 2 KiB"


def test_a_line_over_the_limit_is_refused_without_being_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(legacy_text, "MAX_LINE_BYTES", 2048)
    path = _write(tmp_path, b"a\n" + b"x" * (8 * MIB) + b"\n")
    tracemalloc.start()
    try:
        refused = _refusal(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.detail == f"{path}: line 2: longer than 2 KiB"
    assert peak < MIB


# --- the text ---------------------------------------------------------------------------


def test_a_byte_order_mark_is_dropped_only_at_the_start_of_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "\ufeffa\n\ufeffx\n".encode())
    assert _records(path) == [(2, {"a": "\ufeffx"})]


def test_a_shift_jis_byte_in_utf8_is_refused_with_the_byte_its_place_and_the_cp932_hint(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, b"a\nabcd\x83\x5c\n")
    refused = _refusal(path)
    assert refused.detail == (
        f"{path}: line 2: not utf-8 text (byte 0x83 at byte 5 of the line);"
        " a file saved by Excel in Japan needs --encoding cp932"
    )


def test_a_bad_byte_in_cp932_is_refused_without_the_cp932_hint(tmp_path: Path) -> None:
    path = _write(tmp_path, b"a\nok\nab\x81 c\n")
    refused = _refusal(path, "cp932")
    assert refused.detail == f"{path}: line 3: not cp932 text (byte 0x81 at byte 3 of the line)"


# --- the CSV ----------------------------------------------------------------------------


def test_missing_columns_are_all_named_on_line_1(tmp_path: Path) -> None:
    path = _write(tmp_path, b"a,z\n1,2\n")
    with pytest.raises(InvalidInput) as refused:
        list(legacy_text.records(path, ("a", "b", "c"), "utf-8"))
    assert refused.value.field == str(path)
    assert refused.value.detail == (
        f"{path}: line 1: missing column(s) b, c; expected ('a', 'b', 'c')"
    )


def test_a_line_the_csv_reader_rejects_is_refused_with_a_line_number(tmp_path: Path) -> None:
    path = _write(tmp_path, b"a\nok\nx\ry\n")
    refused = _refusal(path)
    assert re.fullmatch(
        rf"{re.escape(str(path))}: line \d+: new-line character seen in unquoted field.*",
        refused.detail,
    )


# --- rows -------------------------------------------------------------------------------


def _sessions(tmp_path: Path, *rows: str) -> Path:
    return _write(tmp_path, (SESSION_HEAD + "".join(rows)).encode(), "sessions.csv")


def test_an_id_of_exactly_the_id_length_is_read_and_one_longer_is_refused(
    tmp_path: Path,
) -> None:
    at_limit, over = "L" * ID_LENGTH, "M" * (ID_LENGTH + 1)
    path = _sessions(
        tmp_path,
        SESSION_ROW.format(id=at_limit, booked=BOOKED),
        SESSION_ROW.format(id=over, booked=BOOKED),
    )
    rows, errors = read_sessions(path)
    assert [r.legacy_id for r in rows] == [at_limit]
    assert [(e.line, e.message) for e in errors] == [(3, f"id: longer than {ID_LENGTH} characters")]


def test_a_name_of_exactly_the_name_length_is_read_and_one_longer_is_refused(
    tmp_path: Path,
) -> None:
    at_limit, over = "S" * NAME_LENGTH, "T" * (NAME_LENGTH + 1)
    row = "{id},,2026-12-03,09:00,10:00,{teacher},Ito,CONFIRMED,{booked}\n"
    path = _sessions(
        tmp_path,
        row.format(id="L1", teacher=at_limit, booked=BOOKED),
        row.format(id="L2", teacher=over, booked=BOOKED),
    )
    rows, errors = read_sessions(path)
    assert [r.teacher for r in rows] == [at_limit]
    assert [(e.line, e.message) for e in errors] == [
        (3, f"teacher: longer than {NAME_LENGTH} characters")
    ]


def test_an_end_equal_to_the_start_is_refused(tmp_path: Path) -> None:
    path = _sessions(tmp_path, f"L1,,2026-12-03,10:00,10:00,Sato,Ito,CONFIRMED,{BOOKED}\n")
    rows, errors = read_sessions(path)
    assert rows == []
    assert [e.message for e in errors] == ["end_time: 10:00 is not after start_time 10:00"]


def test_an_unknown_status_names_every_allowed_status(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        (SERIES_HEAD + f"S1,Shibuya,Sato,Ito,20:00,21:00,[1],DONE,{BOOKED}\n").encode(),
        "series.csv",
    )
    rows, errors = read_series(path)
    assert rows == []
    assert [e.message for e in errors] == ["status: 'DONE' is not one of ACTIVE, PAUSED, ENDED"]


def test_the_problems_of_a_row_are_joined_with_semicolons(tmp_path: Path) -> None:
    path = _sessions(tmp_path, "L1,,2026-12-03,09:00,10:00,,Ito,NOPE,nope\n")
    rows, errors = read_sessions(path)
    assert rows == []
    assert [e.message for e in errors] == [
        "teacher: required; status: 'NOPE' is not one of CONFIRMED, CONFLICTED, CANCELLED;"
        " created_at: 'nope' is not an ISO 8601 date-time"
    ]


SERIES_BAD_FIELD = {
    "start": "S1,Shibuya,Sato,Ito,,21:00,[1],ACTIVE,{booked}\n",
    "end": "S1,Shibuya,Sato,Ito,20:00,9pm,[1],ACTIVE,{booked}\n",
    "days": "S1,Shibuya,Sato,Ito,20:00,21:00,[8],ACTIVE,{booked}\n",
    "created": "S1,Shibuya,Sato,Ito,20:00,21:00,[1],ACTIVE,yesterday\n",
    "status only": "S1,Shibuya,Sato,Ito,20:00,21:00,[1],DONE,{booked}\n",
    "name only": "S1,Shibuya,,Ito,20:00,21:00,[1],ACTIVE,{booked}\n",
}


@pytest.mark.parametrize("row", SERIES_BAD_FIELD.values(), ids=SERIES_BAD_FIELD.keys())
def test_a_series_row_with_any_one_bad_field_is_an_error_and_not_read(
    tmp_path: Path, row: str
) -> None:
    path = _write(
        tmp_path,
        (
            SERIES_HEAD + row.format(booked=BOOKED) + SERIES_ROW.format(id="S2", booked=BOOKED)
        ).encode(),
        "series.csv",
    )
    rows, errors = read_series(path)
    assert [r.line for r in rows] == [3]
    assert [(e.file, e.line, e.legacy_id) for e in errors] == [("series.csv", 2, "S1")]
    assert len(errors[0].message.split("; ")) == 1


SESSION_BAD_FIELD = {
    "start": "L1,,2026-12-03,,10:00,Sato,Ito,CONFIRMED,{booked}\n",
    "end": "L1,,2026-12-03,09:00,ten,Sato,Ito,CONFIRMED,{booked}\n",
    "date": "L1,,2026-13-03,09:00,10:00,Sato,Ito,CONFIRMED,{booked}\n",
    "created": "L1,,2026-12-03,09:00,10:00,Sato,Ito,CONFIRMED,yesterday\n",
    "status only": "L1,,2026-12-03,09:00,10:00,Sato,Ito,DONE,{booked}\n",
    "name only": "L1,,2026-12-03,09:00,10:00,Sato,,CONFIRMED,{booked}\n",
}


@pytest.mark.parametrize("row", SESSION_BAD_FIELD.values(), ids=SESSION_BAD_FIELD.keys())
def test_a_session_row_with_any_one_bad_field_is_an_error_and_not_read(
    tmp_path: Path, row: str
) -> None:
    path = _sessions(
        tmp_path, row.format(booked=BOOKED), SESSION_ROW.format(id="L2", booked=BOOKED)
    )
    rows, errors = read_sessions(path)
    assert [r.legacy_id for r in rows] == ["L2"]
    assert [(e.file, e.line, e.legacy_id) for e in errors] == [("sessions.csv", 2, "L1")]
    assert len(errors[0].message.split("; ")) == 1


def test_a_session_id_used_again_is_refused_naming_the_line_of_its_first_use(
    tmp_path: Path,
) -> None:
    row = SESSION_ROW.format(id="L1", booked=BOOKED)
    path = _sessions(tmp_path, row, SESSION_ROW.format(id="L2", booked=BOOKED), row, row)
    rows, errors = read_sessions(path)
    assert [(r.line, r.legacy_id) for r in rows] == [(2, "L1"), (3, "L2")]
    assert [(e.line, e.legacy_id, e.message) for e in errors] == [
        (4, "L1", "id: 'L1' is already used on line 2"),
        (5, "L1", "id: 'L1' is already used on line 2"),
    ]


def test_a_series_id_used_again_is_refused_naming_the_line_of_its_first_use(
    tmp_path: Path,
) -> None:
    row = SERIES_ROW.format(id="S1", booked=BOOKED)
    path = _write(tmp_path, (SERIES_HEAD + row * 3).encode(), "series.csv")
    rows, errors = read_series(path)
    assert [r.line for r in rows] == [2]
    assert [(e.line, e.message) for e in errors] == [
        (3, "id: 'S1' is already used on line 2"),
        (4, "id: 'S1' is already used on line 2"),
    ]


def test_a_series_id_longer_than_the_id_length_is_refused_with_its_other_problems(
    tmp_path: Path,
) -> None:
    at_limit, over = "S" * ID_LENGTH, "T" * (ID_LENGTH + 1)
    path = _write(
        tmp_path,
        (
            SERIES_HEAD
            + SERIES_ROW.format(id=at_limit, booked=BOOKED)
            + f"{over},Shibuya,,Ito,20:00,21:00,[1],ACTIVE,{BOOKED}\n"
        ).encode(),
        "series.csv",
    )
    rows, errors = read_series(path)
    assert [r.legacy_id for r in rows] == [at_limit]
    assert [(e.line, e.message) for e in errors] == [
        (3, f"id: longer than {ID_LENGTH} characters; teacher: required")
    ]
