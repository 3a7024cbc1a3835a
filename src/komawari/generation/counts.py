"""The one list of what a generation run counts.

The `generation_runs` columns (`models.py`), the API's run schemas (`schemas.py`), the
series preview and the CLI's `--json` all take their count fields from `RunCounts`; a count
is added here (and in a migration) and nowhere else.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RunCounts(BaseModel):
    """What a run (or one batch) did: created, skipped and why, conflicts."""

    # Every count is always in the output, so API schemas mark them required.
    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)

    created: int = 0
    skipped_existing: int = 0
    skipped_duplicate: int = 0
    skipped_closed: int = 0
    skipped_paused: int = 0
    conflicted: int = 0
    series_done: int = 0

    def __add__(self, other: RunCounts) -> RunCounts:
        """Return the sum of two batches' (or runs') counts."""
        return RunCounts(**{name: getattr(self, name) + getattr(other, name) for name in NAMES})


NAMES: tuple[str, ...] = tuple(RunCounts.model_fields)
