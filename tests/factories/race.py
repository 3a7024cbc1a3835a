"""Two (or more) callers doing the same thing at once, each on its own connection."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from komawari.db.engine import session_scope
from komawari.errors import InvalidInput


def race(engine: Engine, who: list[str], change: Callable[[Session, str], object]) -> list[str]:
    """Run `change(session, name)` for each name at the same moment, each in its own
    transaction that commits; return the outcomes, sorted: "done", or the field an
    InvalidInput refusal named."""
    start = threading.Barrier(len(who))
    outcomes: list[str] = []

    def one(name: str) -> None:
        try:
            with session_scope(engine) as s:
                start.wait()
                change(s, name)
            outcomes.append("done")
        except InvalidInput as exc:
            outcomes.append(exc.field)

    threads = [threading.Thread(target=one, args=(name,)) for name in who]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return sorted(outcomes)
