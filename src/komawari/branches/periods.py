"""A branch's fixed periods (コマ): listed, added and removed, and applied to a form.

Most juku plan in fixed periods ("1限" 16:00-17:20, "2限" 17:30-18:50). A branch may
define its own; the booking, series and move forms offer them as one choice beside free
times, which stay possible everywhere.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.branches.models import PERIOD_GUARD, Branch, BranchPeriod
from komawari.branches.schemas import PeriodCreate
from komawari.db import errors as db_errors
from komawari.errors import Conflict, InvalidInput, NotFound
from komawari.words import say


def of(db: Session, branch_ids: list[int] | None) -> list[tuple[BranchPeriod, str]]:
    """The periods of the branches (None: all), each with its branch's name, in order."""
    query = (
        select(BranchPeriod, Branch.name)
        .join(Branch, Branch.id == BranchPeriod.branch_id)
        .order_by(Branch.name, BranchPeriod.start_time, BranchPeriod.name)
    )
    if branch_ids is not None:
        query = query.where(BranchPeriod.branch_id.in_(branch_ids))
    return [(p, n) for p, n in db.execute(query)]


def add(db: Session, branch_id: int, period: PeriodCreate, *, actor: Actor) -> BranchPeriod:
    """Add a period to a branch (409 when the branch has one of that name)."""
    row = BranchPeriod(branch_id=branch_id, **period.model_dump())
    db_errors.guarded(
        db,
        lambda: db.add(row),
        lambda: Conflict(
            say(
                "period.duplicate-name",
                "the branch has a period called %(name)s already",
                name=period.name,
            )
        ),
        PERIOD_GUARD,
    )
    audit.record(
        db, actor=actor, action="branch.period.add", subject_type="branch",
        subject_id=branch_id, branch_id=branch_id, details=period.model_dump(mode="json"),
    )  # fmt: skip
    return row


def remove(db: Session, branch_id: int, period_id: int, *, actor: Actor) -> None:
    """Remove a branch's period (lessons booked in it keep their times)."""
    row = db.get(BranchPeriod, period_id)
    if row is None or row.branch_id != branch_id:
        raise NotFound(
            say(
                "period.not-found",
                "period %(id)s does not exist at branch %(branch_id)s",
                id=period_id,
                branch_id=branch_id,
            )
        )
    db.delete(row)
    db.flush()
    audit.record(
        db, actor=actor, action="branch.period.remove", subject_type="branch",
        subject_id=branch_id, branch_id=branch_id, details={"name": row.name},
    )  # fmt: skip


def apply(db: Session, form: dict[str, Any], *, branch_id: int | None = None) -> dict[str, Any]:
    """Return the form's values with its chosen `period` turned into its start and end
    times (they replace typed ones); refuse a period of another branch than the lesson's
    (`branch_id`, else the form's own), naming both."""
    fields = dict(form)
    chosen = fields.pop("period", None)
    if chosen in (None, ""):
        return fields
    if branch_id is None and str(fields.get("branch_id", "")).isdigit():
        branch_id = int(fields["branch_id"])
    row = db.get(BranchPeriod, int(chosen)) if str(chosen).isdigit() else None
    if row is None:
        raise InvalidInput(
            "period", say("period.unknown", "this period does not exist: pick one from the list")
        )
    if branch_id is not None and row.branch_id != branch_id:
        here, there = db.get(Branch, branch_id), db.get(Branch, row.branch_id)
        raise InvalidInput(
            "period",
            say(
                "period.other-branch",
                "%(period)s is a period of %(there)s, not of %(here)s",
                period=row.name,
                there=there.name if there else row.branch_id,
                here=here.name if here else branch_id,
            ),
        )
    return fields | {
        "start_time": row.start_time.strftime("%H:%M"),
        "end_time": row.end_time.strftime("%H:%M"),
    }
