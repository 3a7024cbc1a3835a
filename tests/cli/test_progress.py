"""Long commands show a Rich bar on stderr while stdout is a terminal, and nothing else."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from komawari.cli import progress as progress_module
from komawari.cli.progress import progress


def _recording(monkeypatch: pytest.MonkeyPatch, *, terminal: bool) -> io.StringIO:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100, color_system=None)
    monkeypatch.setattr(progress_module, "err", console)
    monkeypatch.setattr(progress_module.sys.stdout, "isatty", lambda: terminal)
    return screen


def test_a_terminal_sees_the_bar_and_the_step_it_is_on(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = _recording(monkeypatch, terminal=True)
    with progress("import", ("staging", "series")) as step:
        step("staging")
        step("series")
    shown = screen.getvalue()  # the bar redraws at its own pace: the last step is drawn
    assert "import: series" in shown
    assert "━━━━" in shown


def test_piped_output_gets_no_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = _recording(monkeypatch, terminal=False)
    with progress("import", ("staging",)) as step:
        step("staging")
    assert screen.getvalue() == ""
