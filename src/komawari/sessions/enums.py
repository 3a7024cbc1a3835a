"""The sessions domain's enumerations (stored as native PostgreSQL enums)."""

from __future__ import annotations

import enum


class SessionStatus(enum.StrEnum):
    CONFIRMED = "CONFIRMED"
    CONFLICTED = "CONFLICTED"
    CANCELLED = "CANCELLED"


class Attendance(enum.StrEnum):
    PRESENT = "PRESENT"
    ABSENT = "ABSENT"
    LATE = "LATE"
    EXCUSED = "EXCUSED"
