"""Operator commands: doctor, dedupe, guards, backup, restore, import."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the operator commands to the main app."""
