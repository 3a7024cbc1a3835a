"""Whatever a legacy export holds, the import either loads it whole or refuses it with
one line naming the file and the line, and a refused file writes nothing (issue: fuzzing
of what comes from outside)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from komawari.errors import KomawariError
from komawari.ops import legacy_import
from komawari.series.models import ClassSeries
from komawari.sessions.models import ClassSession

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "legacy"
SESSION_HEAD = ["id", "series_id", "date", "start_time", "end_time", "teacher", "student",
                "status", "created_at"]  # fmt: skip

# Values a school's export really holds: mostly good ones, and the bad ones beside them.


def mostly(good: list[str], bad: list[str]) -> st.SearchStrategy[str]:
    """Draw a good value four times in five, else a bad one."""
    return st.one_of(*[st.sampled_from(good)] * 4, st.sampled_from(bad))


dates = mostly(["2026-11-04", "2026-11-05", "2026-11-09"],
               ["2025-02-30", "0001-01-01", "9999-12-31", "2026/11/04", "", "0"])  # fmt: skip
starts = mostly(["19:00", "20:00"], ["24:00", "7pm", "", "19:00:00"])
ends = mostly(["20:30", "21:30"], ["19:00", "25:00", ""])
names = st.one_of(
    mostly(["Sato Haruka", "Ito Kenji", "Mori Aoi", "佐藤"], ["", " ", "\u200b", "\x1b[2J"]),
    st.text(min_size=1, max_size=12),
)
statuses = mostly(["CONFIRMED", "CONFLICTED", "CANCELLED"], ["confirmed", "", "DONE"])
booked = mostly(["2026-10-01T09:00:00+09:00", "2026-10-02T10:00:00+09:00"],
                ["2026-10-01", "", "yesterday", "2999-01-01T00:00:00+00:00"])  # fmt: skip
series_ids = mostly(["", "S1", "S3"], ["S99", "s1"])


@st.composite
def session_files(draw: st.DrawFn) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SESSION_HEAD)
    for n in range(draw(st.integers(min_value=0, max_value=4))):
        writer.writerow([f"F{n}", draw(series_ids), draw(dates), draw(starts), draw(ends),
                         draw(names), draw(names), draw(statuses), draw(booked)])  # fmt: skip
    return out.getvalue()


def _rows(db: Session) -> tuple[int, int]:
    return (
        db.scalar(select(func.count()).select_from(ClassSeries)) or 0,
        db.scalar(select(func.count()).select_from(ClassSession)) or 0,
    )


FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _import(db: Session, sessions: Path) -> legacy_import.ImportReport | str:
    """Return the import's report, or the one-line refusal it raised."""
    try:
        return legacy_import.run(
            db, series_path=EXAMPLES / "series.csv", sessions_path=sessions, apply=True,
            strict=True,
        )  # fmt: skip
    except KomawariError as exc:
        return exc.detail


@FUZZ
@given(text=session_files())
def test_an_export_is_loaded_whole_or_refused_naming_file_and_line_writing_nothing(
    db: Session, tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    sessions = tmp_path_factory.mktemp("fuzz") / "sessions.csv"
    sessions.write_text(text, encoding="utf-8")
    before = _rows(db)
    savepoint = db.begin_nested()
    outcome = _import(db, sessions)
    db.flush()
    written = _rows(db)
    savepoint.rollback()
    event("refused" if isinstance(outcome, str) else f"applied={outcome.applied}")
    if isinstance(outcome, str):  # refused whole: one line, naming the file
        assert "\n" not in outcome
        assert "sessions.csv" in outcome or "series.csv" in outcome
        assert written == before
    elif not outcome.applied:  # strict: a bad row stops the load, each error located
        assert outcome.errors
        assert all(e.file and e.line >= 1 and e.message for e in outcome.errors)
        assert written == before
    else:
        assert outcome.errors == []
        assert written[0] > before[0], "the series file's series are loaded"
