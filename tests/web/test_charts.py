"""Server-drawn bar charts: one bar a day, scaled to the busiest day."""

from __future__ import annotations

from datetime import date

from komawari.web import charts


def test_a_bar_per_day_scaled_to_the_largest_value() -> None:
    first = date(2026, 11, 1)
    chart = charts.daily_bars(
        {date(2026, 11, 2): 5, date(2026, 11, 4): 10}, first=first, days=5, width=500, height=100
    )
    assert [b.value for b in chart.bars] == [0, 5, 0, 10, 0]
    assert [b.height for b in chart.bars] == [0, 50, 0, 100, 0]
    assert chart.bars[3].y == 0
    assert chart.bars[1].y == 50
    assert chart.total == 15
    assert chart.top == 10
    assert chart.bars[1].x == 110  # 100 px a day, bars 80 px wide and centred
    assert chart.bars[1].width == 80


def test_an_empty_period_draws_no_bar_heights() -> None:
    chart = charts.daily_bars({}, first=date(2026, 11, 1), days=3)
    assert [b.height for b in chart.bars] == [0, 0, 0]
    assert chart.top == 0
