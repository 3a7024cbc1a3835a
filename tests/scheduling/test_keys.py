"""The duplicate keys: named once, rendered into SQL column lists and conditions."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from komawari.scheduling import keys


def test_the_lesson_key_is_date_start_end_teacher_student() -> None:
    assert keys.LESSON_KEY == ("date", "start_time", "end_time", "teacher_id", "student_id")


def test_the_occurrence_key_is_series_and_original_date() -> None:
    assert keys.OCCURRENCE_KEY == ("series_id", "original_date")


def test_a_series_key_names_its_party_by_kind() -> None:
    common = ("branch_id", "teacher_id", "start_time", "end_time", "weekdays")
    private, group = keys.series_key("PRIVATE"), keys.series_key("GROUP")
    assert private[2] == "student_id"
    assert group[2] == "title"
    assert tuple(c for c in private if c != "student_id") == common
    assert tuple(c for c in group if c != "title") == common


def test_columns_render_a_key_qualified_or_not() -> None:
    assert keys.columns(keys.OCCURRENCE_KEY) == "series_id, original_date"
    assert keys.columns(keys.OCCURRENCE_KEY, "s") == "s.series_id, s.original_date"


def test_same_compares_every_key_column_null_safe_where_asked() -> None:
    assert keys.same(keys.OCCURRENCE_KEY, "a", "b", null_safe=("original_date",)) == (
        "a.series_id = b.series_id AND a.original_date IS NOT DISTINCT FROM b.original_date"
    )
    assert keys.same(("date", "teacher_id"), "x", "c", renamed={"date": "day"}) == (
        "x.date = c.day AND x.teacher_id = c.teacher_id"
    )


def test_the_lesson_span_is_26_hours_in_python_and_sql() -> None:
    assert timedelta(hours=26) == keys.LESSON_SPAN
    assert keys.LESSON_SPAN_SECONDS == 26 * 3600
    assert keys.LESSON_SPAN_SQL == "interval '26 hours'"


# Sessions' conflict SQL still writes the span; its own change renders LESSON_SPAN_SQL.
def test_the_lesson_span_is_written_once_in_the_source() -> None:
    src = Path(keys.__file__).parents[1]
    written = {
        str(p.relative_to(src))
        for p in src.rglob("*.py")
        if "migrations" not in p.parts and re.search(r"26 hours|26 \* 3600|hours=26", p.read_text())
    }
    assert written == {"scheduling/keys.py"}
