"""The statements of `guards off` and `on` besides the guards' own DDL (komawari.db.guards)."""

from __future__ import annotations

from komawari.db import guards

# Holds off every writer (lock or not) between the duplicate check and the index builds.
HOLD_WRITERS = f"LOCK TABLE {', '.join(guards.GUARDED_TABLES)} IN SHARE ROW EXCLUSIVE MODE"
