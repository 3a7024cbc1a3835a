"""The time grid of the day and week pages: where each lesson block sits.

Columns are teachers, rooms or days; rows are SLOT_MINUTES of wall-clock time. Lessons
of one column that overlap (a double booking) are put side by side in lanes, so no
block ever hides another. Plain values in, plain values out: no database, no HTML.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import time
from typing import Any

SLOT_MINUTES = 5
DEFAULT_FIRST_HOUR, DEFAULT_LAST_HOUR = 9, 21  # an empty day
MIN_HOURS = 4  # a day with lessons shows at least this span, from the first lesson's hour


@dataclass(frozen=True)
class Block:
    """A lesson to place: its column, its wall-clock span, and what the template shows."""

    column: Hashable
    start: time
    end: time
    item: Any


@dataclass
class Column:
    """One column of the grid and the lanes it needs."""

    key: Hashable
    label: str
    link: str | None = None
    lanes: int = 1
    first_track: int = 0


@dataclass(frozen=True)
class Placed:
    """A block with its grid lines (1-based, CSS grid style)."""

    block: Block
    column: Column
    track: int
    row_start: int
    row_end: int


@dataclass(frozen=True)
class Band:
    """A period (コマ) as a row of the grid: its first row line, its height in rows."""

    line: int
    span: int
    name: str
    start: str  # "HH:MM"
    end: str


@dataclass
class Grid:
    """The whole grid: hour labels, columns with their lanes, placed blocks."""

    first_minute: int
    rows: int
    columns: list[Column]
    placed: list[Placed] = field(default_factory=list)

    @property
    def tracks(self) -> int:
        """Return the number of grid column tracks (every lane of every column)."""
        return sum(c.lanes for c in self.columns) or 1

    def hours(self) -> list[tuple[int, str]]:
        """Return (row line, "HH:00") of every whole hour on the grid."""
        out = []
        for minute in range(self.first_minute, self.first_minute + self.rows * SLOT_MINUTES, 60):
            out.append((1 + (minute - self.first_minute) // SLOT_MINUTES, f"{minute // 60:02d}:00"))
        return out

    def bands(self, periods: Sequence[tuple[str, time, time]]) -> list[Band]:
        """Return the branch's periods (name, start, end) as rows of this grid, in start
        order (a period outside the grid's hours is left out)."""
        last = self.first_minute + self.rows * SLOT_MINUTES
        out = []
        for name, start, end in sorted(periods, key=lambda p: p[1]):
            first, stop = _minutes(start), _minutes(end)
            if first >= self.first_minute and stop <= last and stop > first:
                line = 1 + (first - self.first_minute) // SLOT_MINUTES
                span = -(-(stop - first) // SLOT_MINUTES)
                out.append(Band(line, span, name, f"{start:%H:%M}", f"{end:%H:%M}"))
        return out


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def _lanes(blocks: Sequence[Block]) -> list[int]:
    """Give each block the lowest lane free at its start (blocks in start order)."""
    ends: list[int] = []  # the end minute of the last block in each lane
    lanes = []
    for block in blocks:
        start = _minutes(block.start)
        for lane, end in enumerate(ends):
            if end <= start:  # half-open: a lesson may start when another ends
                ends[lane] = _minutes(block.end)
                lanes.append(lane)
                break
        else:
            ends.append(_minutes(block.end))
            lanes.append(len(ends) - 1)
    return lanes


def _span(
    blocks: Sequence[Block], periods: Sequence[tuple[str, time, time]] = ()
) -> tuple[int, int]:
    """The grid's first and last minute: whole hours around the blocks and the periods."""
    starts = [_minutes(b.start) for b in blocks] + [_minutes(p[1]) for p in periods]
    ends = [_minutes(b.end) for b in blocks] + [_minutes(p[2]) for p in periods]
    first = min(starts, default=DEFAULT_FIRST_HOUR * 60) // 60 * 60
    last = -(-max(ends, default=DEFAULT_LAST_HOUR * 60) // 60) * 60
    return first, min(max(last, first + MIN_HOURS * 60), 24 * 60)


def span(blocks: Sequence[Block], periods: Sequence[tuple[str, time, time]]) -> tuple[int, int]:
    """The first and last minute of a grid that shows `blocks` and every period."""
    return _span(blocks, periods)


def pages(
    columns: Sequence[Column],
    blocks: Sequence[Block],
    *,
    per_page: int,
    span: tuple[int, int] | None = None,
) -> list[Grid]:
    """The grid cut into grids of at most `per_page` columns, all on one time axis (a
    printed day: each sheet repeats the hours)."""
    span = span or _span(blocks)
    return [
        build([Column(c.key, c.label, c.link) for c in columns[i : i + per_page]], blocks, span)
        for i in range(0, len(columns), per_page)
    ]


def build(
    columns: Sequence[Column], blocks: Sequence[Block], span: tuple[int, int] | None = None
) -> Grid:
    """Place `blocks` on a grid of `columns`, from the hour of the first lesson's start
    (or over `span`, first and last minute)."""
    first, last = span or _span(blocks)
    grid = Grid(first, (last - first) // SLOT_MINUTES, list(columns))
    by_key = {c.key: c for c in grid.columns}
    per_column: dict[Hashable, list[Block]] = {c.key: [] for c in grid.columns}
    for block in blocks:
        if block.column in per_column:
            per_column[block.column].append(block)
    track = 0
    for column in grid.columns:
        ordered = sorted(per_column[column.key], key=lambda b: (_minutes(b.start), _minutes(b.end)))
        lanes = _lanes(ordered)
        column.lanes = max(lanes, default=0) + 1
        column.first_track = track + 1
        for block, lane in zip(ordered, lanes, strict=True):
            grid.placed.append(
                Placed(
                    block,
                    by_key[block.column],
                    column.first_track + lane,
                    1 + (_minutes(block.start) - first) // SLOT_MINUTES,
                    1 + -(-(_minutes(block.end) - first) // SLOT_MINUTES),
                )
            )
        track += column.lanes
    return grid
