"""The series domain's enumerations (stored as native PostgreSQL enums)."""

from __future__ import annotations

import enum


class SeriesKind(enum.StrEnum):
    PRIVATE = "PRIVATE"
    GROUP = "GROUP"


class SeriesStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    ENDED = "ENDED"
