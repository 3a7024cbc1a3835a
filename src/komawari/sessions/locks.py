"""Locks per resource: a writer of the schedule locks the teachers, students and rooms it touches.

A session's verdict depends only on the earlier-booked live sessions that overlap it and
share its teacher, a student or its room. So a writer locks (transaction-scoped advisory
locks) every resource of the sessions it inserts or changes, before and after the change,
before the statement that inserts; writers that share no resource run in parallel, and
per resource booking order (`created_at`, the inserting statement's start) is commit
order. Locks are taken in one statement in one global order (see `sql.LOCK_RESOURCES`).
Neighbours re-evaluated through a resource this writer holds are row-locked, not
resource-locked (see `reevaluate.evaluate`).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session

from komawari.sessions import sql


def _ids(values: Iterable[int | None]) -> list[int]:
    return sorted({v for v in values if v is not None})


def lock_resources(
    db: Session,
    *,
    teachers: Iterable[int | None] = (),
    students: Iterable[int | None] = (),
    rooms: Iterable[int | None] = (),
    sessions: Iterable[int] = (),
    series: Iterable[int] = (),
    with_series_sessions: bool = True,
) -> None:
    """Lock the resources named, those of `sessions`, and those of `series`, until commit.

    Resources read from rows (a session's room, a series' enrolments) may change while
    this waits, by a writer that held them: they are read again after the locks are held,
    and any new one is locked too, until a read finds nothing new. Only that late lock
    can come out of order (a concurrent move of the same session), which PostgreSQL
    detects as a deadlock (40P01): generation and every HTTP route run the transaction again.
    """
    params = {
        "teachers": _ids(teachers),
        "students": _ids(students),
        "rooms": _ids(rooms),
        "sessions_ids": _ids(sessions),
        "series": _ids(series),
        "sessions": with_series_sessions,
    }
    held: set[tuple[int, int]] = set()
    while True:
        keys = {(int(k), int(b)) for k, b, _ in db.execute(text(sql.LOCK_RESOURCES), params)}
        if keys <= held:
            return
        held |= keys
        if not params["sessions_ids"] and not params["series"]:
            return  # nothing read from rows: nothing can have changed


def lock_sessions(db: Session, ids: Iterable[int]) -> None:
    """Lock every resource of the sessions `ids` (before changing them)."""
    lock_resources(db, sessions=ids)


def lock_series(
    db: Session,
    ids: Iterable[int],
    *,
    teachers: Iterable[int | None] = (),
    students: Iterable[int | None] = (),
    rooms: Iterable[int | None] = (),
    with_sessions: bool = True,
) -> None:
    """Lock the resources of series `ids` (and of their sessions), plus those named."""
    lock_resources(
        db,
        series=ids,
        teachers=teachers,
        students=students,
        rooms=rooms,
        with_series_sessions=with_sessions,
    )


def lock_whole_schedule(db: Session) -> None:
    """Make every other writer of the schedule wait until this transaction ends."""
    db.execute(text(sql.LOCK_WHOLE_SCHEDULE))


def lock_generation(db: Session) -> None:
    """Make other generation runs wait until this transaction ends (before their batch).

    Taken before any other lock, so it keeps the global order. Without it concurrent runs
    pick the same batch, wait for its resources, and each then finds it done.
    """
    db.execute(text(sql.LOCK_GENERATION))
