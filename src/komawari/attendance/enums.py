"""Attendance states and the kinds of credit ledger entries."""

from __future__ import annotations

import enum


class AttendanceState(enum.StrEnum):
    PRESENT = "present"
    LATE = "late"
    LEFT_EARLY = "left_early"
    ABSENT_NOTIFIED = "absent_notified"  # absent, and the school was told (notified_at)
    ABSENT = "absent"  # absent without notice
    SCHOOL_CANCELLED = "school_cancelled"


class EntryKind(enum.StrEnum):
    ISSUE = "issue"  # +1: an absence earned the credit
    USE = "use"  # -1: a make-up lesson was booked with it
    RELEASE = "release"  # +1: that make-up lesson was cancelled by the school
    EXPIRE = "expire"  # -1: unused at its expiry
    REVOKE = "revoke"  # -1: the attendance that earned it was corrected
    ADJUST = "adjust"  # ±n: staff, with a reason
