"""Unique names for test rows (names of branches, teachers and students are unique)."""

from __future__ import annotations

import itertools

_n = itertools.count(1)


def unique() -> int:
    """Return a number no other test row of this run has used."""
    return next(_n)
