"""Expiring make-up (振替) credits at every branch on the branch's own day.

A credit's last day is a date at its branch: it expires once that day has passed in the
branch's zone, not in the server's or UTC's. The periodic job (`web/app.py`) calls `run`
each tick; `komawari credits expire` calls `expire_everywhere`. Both are idempotent (a
credit ends once: `credits.expire_due` locks it and PostgreSQL's one-end guard holds), and
each expiry is one ledger entry and one audit event.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from komawari.attendance import credits
from komawari.audit.service import Actor
from komawari.branches.models import Branch
from komawari.db.engine import session_scope
from komawari.errors import InvalidInput
from komawari.scheduling import clock
from komawari.words import say

# The periodic job, as the audit log names it ("make-up credit expiry").
EXPIRY = Actor("expiry", "schedule")


def branch_days(db: Session) -> dict[int, date]:
    """Today at each branch, in its zone."""
    rows = db.execute(select(Branch.id, Branch.time_zone).order_by(Branch.id)).all()
    return {branch_id: clock.branch_today(zone) for branch_id, zone in rows}


def expire_everywhere(db: Session, actor: Actor, *, today: date | None = None) -> list[int]:
    """Expire, at each branch, the unused credits whose last day is before the branch's
    today; return them. `today` (the command's `--today`) expires as of that date instead,
    but never later than a branch's own today: no credit ends before its last day has
    passed where it was earned."""
    days = branch_days(db)
    if today is not None and days and today > max(days.values()):
        raise InvalidInput(
            "today",
            say(
                "credit.expiry-in-future",
                "%(day)s has not come yet at any branch: credits expire after their last day",
                day=today,
            ),
        )
    expired: list[int] = []
    for branch_id, own in days.items():
        day = own if today is None else min(today, own)
        expired += credits.expire_due(db, day, actor, branch_id=branch_id)
    return expired


def run(engine: Engine) -> int:
    """Expire due credits in one transaction of their own; return how many."""
    with session_scope(engine) as db:
        return len(expire_everywhere(db, EXPIRY))
