"""Operator tables print what older data holds escaped, never as terminal controls."""

from __future__ import annotations

import io
import uuid

from rich.console import Console

from komawari.ops import render
from komawari.ops.legacy_csv import RowError
from komawari.ops.legacy_report import ImportReport


def test_import_errors_print_control_characters_escaped_and_markup_as_text() -> None:
    report = ImportReport(applied=False, strict=False, repair_id=uuid.uuid4())
    report.errors = [RowError("se\x1b[2Jssions.csv", 3, "teacher: [red]x\x07", "L1")]
    buffer = io.StringIO()
    render.imported(Console(file=buffer, width=200, force_terminal=False), report)
    text = buffer.getvalue()
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "se\\x1b[2Jssions.csv" in text
    assert "teacher: [red]x\\x07" in text
