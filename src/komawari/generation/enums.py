"""The generation domain's enumerations (stored as native PostgreSQL enums)."""

from __future__ import annotations

import enum


class RunTrigger(enum.StrEnum):
    SCHEDULE = "schedule"
    CLI = "cli"
    EXTEND = "extend"
    API = "api"
    IMPORT = "import"
    LIFECYCLE = "lifecycle"


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABANDONED = "abandoned"
