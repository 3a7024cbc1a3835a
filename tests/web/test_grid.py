"""The time grid places every lesson where its times say, and never hides one behind another."""

from __future__ import annotations

from datetime import time

from komawari.web import grid


def _block(column: str, start: str, end: str, name: str) -> grid.Block:
    return grid.Block(column, time.fromisoformat(start), time.fromisoformat(end), name)


def _lanes(g: grid.Grid) -> dict[str, int]:
    return {p.block.item: p.track for p in g.placed}


def test_overlapping_lessons_of_one_column_sit_side_by_side() -> None:
    g = grid.build(
        [grid.Column("t1", "Sato")],
        [_block("t1", "20:00", "21:30", "a"), _block("t1", "20:30", "21:00", "b")],
    )
    assert g.columns[0].lanes == 2
    assert _lanes(g) == {"a": 1, "b": 2}


def test_lessons_that_touch_end_to_start_share_a_lane() -> None:
    # Half-open: 18:00-19:00 and 19:00-20:00 do not overlap, so no second lane.
    g = grid.build(
        [grid.Column("t1", "Sato")],
        [_block("t1", "18:00", "19:00", "a"), _block("t1", "19:00", "20:00", "b")],
    )
    assert g.columns[0].lanes == 1
    assert _lanes(g) == {"a": 1, "b": 1}


def test_a_freed_lane_is_reused_and_columns_follow_each_other() -> None:
    g = grid.build(
        [grid.Column("t1", "Sato"), grid.Column("t2", "Ito")],
        [
            _block("t1", "16:00", "18:00", "long"),
            _block("t1", "16:30", "17:00", "short"),
            _block("t1", "17:00", "17:30", "after-short"),
            _block("t2", "16:00", "17:00", "other"),
        ],
    )
    assert [c.lanes for c in g.columns] == [2, 1]
    assert _lanes(g) == {"long": 1, "short": 2, "after-short": 2, "other": 3}
    assert g.tracks == 3


def test_rows_follow_the_times_in_five_minute_slots() -> None:
    g = grid.build([grid.Column("t1", "Sato")], [_block("t1", "16:50", "18:20", "a")])
    assert g.first_minute == 16 * 60
    placed = g.placed[0]
    assert (placed.row_start, placed.row_end) == (1 + 50 // 5, 1 + 140 // 5)
    assert g.rows * grid.SLOT_MINUTES >= grid.MIN_HOURS * 60
    assert g.hours()[:2] == [(1, "16:00"), (13, "17:00")]


def test_a_lesson_of_an_unknown_column_is_not_drawn() -> None:
    g = grid.build([grid.Column("t1", "Sato")], [_block("t9", "10:00", "11:00", "x")])
    assert g.placed == []


def test_an_empty_day_shows_the_usual_hours() -> None:
    g = grid.build([], [])
    assert g.first_minute == grid.DEFAULT_FIRST_HOUR * 60
    assert g.rows * grid.SLOT_MINUTES == (grid.DEFAULT_LAST_HOUR - grid.DEFAULT_FIRST_HOUR) * 60


def test_periods_become_bands_of_rows_and_widen_the_day() -> None:
    lesson = grid.Block("t1", time(17, 0), time(18, 0), None)
    koma = [("2限", time(17, 30), time(18, 50)), ("1限", time(16, 0), time(17, 20))]
    built = grid.build([grid.Column("t1", "Sato")], [lesson], grid.span([lesson], koma))
    assert built.first_minute == 16 * 60, "the first period's hour starts the day"
    assert built.first_minute + built.rows * grid.SLOT_MINUTES == (16 + grid.MIN_HOURS) * 60
    bands = built.bands(koma)
    assert [(b.name, b.line, b.span, b.start, b.end) for b in bands] == [
        ("1限", 1, 16, "16:00", "17:20"),
        ("2限", 19, 16, "17:30", "18:50"),
    ]
    narrow = grid.build([grid.Column("t1", "Sato")], [lesson])  # 17:00-21:00
    assert [b.name for b in narrow.bands(koma)] == ["2限"], "a period off the grid is left out"
