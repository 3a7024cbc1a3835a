"""Legacy files as they come: UTF-8 with or without a BOM, cp932; anything else refused in
one line naming the file and the line; bounded memory; a dry run consumes no ids."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from typer.testing import Result

from komawari.db.registry import ClassSeries
from komawari.errors import InvalidInput
from komawari.ops import legacy_import
from komawari.ops.legacy_csv import read_series, read_sessions
from komawari.ops.legacy_text import MAX_LINE_BYTES
from komawari.people.models import Teacher

Cli = Callable[..., Result]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "legacy"
HEAD = "id,series_id,date,start_time,end_time,teacher,student,status,created_at\n"
ROW = "L1,,2026-11-04,19:00,20:00,{teacher},Ito,CONFIRMED,2026-10-20T12:00:00+09:00\n"
SEQUENCES = ("branches", "teachers", "students", "class_series", "class_sessions")


def _file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "sessions.csv"
    path.write_bytes(data)
    return path


def test_utf8_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    text_ = HEAD + ROW.format(teacher="佐藤")
    rows, errors = read_sessions(_file(tmp_path, b"\xef\xbb\xbf" + text_.encode()))
    assert errors == []
    assert rows[0].teacher == "佐藤"


def test_the_cp932_example_is_read_with_its_encoding() -> None:
    rows, errors = read_series(EXAMPLES / "series-cp932.csv", "cp932")
    assert errors == []
    assert {r.teacher for r in rows} == {"佐藤 春香"}
    with pytest.raises(InvalidInput, match=r"series-cp932.csv: line 2: not utf-8 text.*cp932"):
        read_series(EXAMPLES / "series-cp932.csv")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ((HEAD + ROW.format(teacher="Ren\xe9e")).encode("latin-1"), "line 2: not utf-8 text"),
        ((HEAD + ROW.format(teacher="Sato")).encode("utf-16"), "line 1: the file is UTF-16"),
        ((HEAD + ROW.format(teacher="Sa\0to")).encode(), "line 2: holds a NUL character"),
        ((HEAD + ROW.format(teacher="x" * (MAX_LINE_BYTES + 1))).encode(), "line 2: longer"),
        (
            (HEAD + 'L1,,2026-11-04,19:00,20:00,"' + "y\n" * 70_000 + '",I,X,Y\n').encode(),
            "field larger than field limit",
        ),
    ],
    ids=["latin-1", "utf-16", "nul", "long line", "long field"],
)
def test_a_file_that_is_not_text_as_expected_is_refused_with_its_line(
    tmp_path: Path, data: bytes, message: str
) -> None:
    with pytest.raises(InvalidInput, match=r"sessions\.csv: ") as refused:
        read_sessions(_file(tmp_path, data))
    assert message in refused.value.detail
    assert "\n" not in refused.value.detail


def test_a_device_is_not_read(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="/dev/zero: not a regular file"):
        read_sessions(Path("/dev/zero"))


def _sequences(db: Session) -> dict[str, int]:
    sql = "SELECT last_value FROM pg_sequences WHERE sequencename = :name"
    return {
        t: int(db.execute(text(sql), {"name": f"{t}_id_seq"}).scalar_one() or 0) for t in SEQUENCES
    }


def test_a_dry_run_consumes_no_ids(db: Session) -> None:
    before = _sequences(db)
    report = legacy_import.run(
        db,
        series_path=EXAMPLES / "series.csv",
        sessions_path=EXAMPLES / "sessions.csv",
        apply=False,
    )
    assert report.created["series"] == 3
    assert _sequences(db) == before
    assert db.scalar(select(ClassSeries.id)) is None
    applied = legacy_import.run(
        db,
        series_path=EXAMPLES / "series.csv",
        sessions_path=EXAMPLES / "sessions.csv",
        apply=True,
    )
    assert applied.as_dict()["sessions"] == report.as_dict()["sessions"]
    assert min(db.scalars(select(Teacher.id))) == before["teachers"] + 1


def test_the_command_reads_cp932_and_refuses_a_device_in_one_line(cli: Cli) -> None:
    cp932 = ("--series", str(EXAMPLES / "series-cp932.csv"))
    sessions = ("--sessions", str(EXAMPLES / "sessions-cp932.csv"))
    read = cli("import", "legacy", *cp932, *sessions, "--encoding", "cp932", "--json")
    assert read.exit_code == 0, read.output
    wrong = cli("import", "legacy", *cp932, *sessions)
    assert wrong.exit_code == 2
    assert "series-cp932.csv: line 2: not utf-8 text" in wrong.output
    device = cli("import", "legacy", "--series", "/dev/zero", *sessions)
    assert device.exit_code == 2
    assert [line for line in device.output.splitlines() if line] == [
        "error: /dev/zero: not a regular file"
    ]
    unknown = cli("import", "legacy", *cp932, *sessions, "--encoding", "latin-1")
    assert unknown.exit_code == 2
    assert "--encoding" in unknown.output
