"""Small charts drawn on the server as SVG: bar geometry from plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Bar:
    """One bar: its day, its value, and where it sits in the SVG."""

    day: date
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class BarChart:
    """A bar per day over a period, scaled to the largest value."""

    width: int
    height: int
    bars: list[Bar]
    top: int

    @property
    def total(self) -> int:
        """Return the sum of the bars."""
        return sum(b.value for b in self.bars)


def daily_bars(
    per_day: dict[date, int], *, first: date, days: int, width: int = 640, height: int = 120
) -> BarChart:
    """Return a bar per day from `first` for `days` days (days without a value are 0)."""
    values = [per_day.get(first + timedelta(days=i), 0) for i in range(days)]
    top = max(values, default=0) or 1
    slot = width / max(days, 1)
    bars = [
        Bar(
            day=first + timedelta(days=i),
            value=value,
            x=round(i * slot + slot * 0.1, 2),
            y=round(height - value / top * height, 2),
            width=round(slot * 0.8, 2),
            height=round(value / top * height, 2),
        )
        for i, value in enumerate(values)
    ]
    return BarChart(width, height, bars, max(values, default=0))
