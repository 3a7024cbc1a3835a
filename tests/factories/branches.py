"""Branches as test rows."""

from __future__ import annotations

from sqlalchemy.orm import Session

from komawari.branches.models import Branch
from tests.factories.names import unique


def branch(db: Session, *, name: str | None = None, time_zone: str = "Asia/Tokyo") -> Branch:
    row = Branch(name=name or f"Branch {unique()}", time_zone=time_zone)
    db.add(row)
    db.flush()
    return row
