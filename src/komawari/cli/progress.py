"""Progress for long work: a Rich bar on stderr while stdout is a terminal, else silence."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from komawari.cli.support import err

Step = Callable[[str], None]


def _quiet(_: str) -> None:
    """Take a step name and show nothing."""


@contextmanager
def progress(label: str, steps: Sequence[str] = ()) -> Iterator[Step]:
    """Show `label` with a bar over `steps` (or a pulse without them); yield `step(name)`.

    Only when stdout is a terminal: piped output and `--json` stay exactly what they were.
    """
    if not sys.stdout.isatty():
        yield _quiet
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=len(steps) or None)

        def step(name: str) -> None:
            done = steps.index(name) if name in steps else None
            bar.update(task, description=f"{label}: {name}", completed=done)

        yield step
        bar.update(task, completed=len(steps) or None)
