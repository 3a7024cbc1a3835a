"""Conflicts, evaluated set-based in SQL (the rule is komawari.scheduling.conflict_rule).

A session's verdict depends only on the earlier-booked live sessions that overlap it and
share its teacher, a student or its room; so after any change it is enough to re-evaluate
the touched sessions and their overlapping neighbours. The writer holds the locks of the
touched sessions' resources (komawari.sessions.locks), so the set of neighbours cannot
change under it. A neighbour may hold other resources, which another writer may change
at the same time: so the neighbours are row-locked first, in id order, and their verdicts
computed in a later statement, which sees every change committed before the rows were
locked. Every writer whose change bears on a neighbour locks its row after that change:
the last of them to lock it sees all the others' changes and writes the final verdict.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session

from komawari.sessions import sql


def jit_off(db: Session) -> None:
    """Turn JIT off until this transaction ends (see sql.JIT_OFF)."""
    db.execute(text(sql.JIT_OFF))


def evaluate(db: Session, ids: Iterable[int]) -> dict[int, str]:
    """Re-evaluate the sessions `ids` and their neighbours; return the ones that changed."""
    id_list = sorted(set(ids))
    if not id_list:
        return {}
    jit_off(db)
    affected = [int(r[0]) for r in db.execute(text(sql.LOCK_AFFECTED), {"ids": id_list})]
    rows = db.execute(text(sql.VERDICTS), {"ids": affected}).all()
    return {int(r[0]): str(r[1]) for r in rows}


def neighbours(db: Session, ids: Iterable[int]) -> list[int]:
    """Return the live sessions that overlap `ids` and share a resource (before a move)."""
    id_list = sorted(set(ids))
    if not id_list:
        return []
    return [int(r[0]) for r in db.execute(text(sql.NEIGHBOURS), {"ids": id_list})]


def evaluate_all(db: Session, *, branch_id: int | None = None) -> int:
    """Re-evaluate every live session (of one branch, or all); return how many changed.

    Verdicts alone change no other session's verdict, so this needs no resource lock.
    """
    ids = [int(r[0]) for r in db.execute(text(sql.LIVE_IDS), {"branch_id": branch_id})]
    changed = 0
    for start in range(0, len(ids), 50_000):
        changed += len(evaluate(db, ids[start : start + 50_000]))
    return changed
