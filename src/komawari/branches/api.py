"""/api/branches: branches, closure days, and the day's schedule at a branch."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Path, Query
from fastapi.responses import JSONResponse

from komawari.auth import service as auth
from komawari.branches import service as branches_service
from komawari.branches.schemas import (
    BranchCreate,
    BranchList,
    BranchRead,
    ClosureAdded,
    ClosureCreate,
    ClosureList,
    ClosureRead,
    ClosureRemoved,
)
from komawari.scheduling.fields import Day
from komawari.sessions import queries
from komawari.sessions.schemas import BranchSchedule, SessionRead
from komawari.web.deps import Caller, Db, Id
from komawari.web.routing import api_router

router = api_router("/branches", "branches")


@router.get("", summary="List branches")
def list_branches(db: Db, who: Caller) -> BranchList:
    """List the branches this token may see."""
    rows = branches_service.list_branches(db, ids=auth.branch_filter(who))
    return BranchList(items=[BranchRead.model_validate(b) for b in rows])


@router.post("", status_code=201, summary="Create a branch (admin)")
def create_branch(body: BranchCreate, db: Db, who: Caller) -> BranchRead:
    """Create a branch in an IANA time zone."""
    auth.require_admin(who)
    row = branches_service.create(db, name=body.name, time_zone=body.time_zone, actor=who.actor)
    return BranchRead.model_validate(row)


def _readable(db: Db, who: Caller, branch_id: int) -> None:
    auth.require_staff(who)
    auth.check_read(who, branch_id, f"branch {branch_id}")
    branches_service.get(db, branch_id)


@router.get("/{branch_id}", summary="Get a branch")
def get_branch(branch_id: Id, db: Db, who: Caller) -> BranchRead:
    """Return a branch."""
    _readable(db, who, branch_id)
    return BranchRead.model_validate(branches_service.get(db, branch_id))


@router.get("/{branch_id}/schedule", summary="The day at a branch")
def schedule(
    branch_id: Id,
    db: Db,
    who: Caller,
    date: Annotated[Day, Query(description="The day, YYYY-MM-DD")],
) -> BranchSchedule:
    """Return the day at a branch: teachers with their sessions, conflicts named."""
    auth.require_staff(who)
    auth.check_read(who, branch_id, f"branch {branch_id}")
    return queries.branch_day(db, branch_id=branch_id, day=date)


@router.get("/{branch_id}/closures", summary="List closure days")
def list_closures(branch_id: Id, db: Db, who: Caller) -> ClosureList:
    """List a branch's closure days."""
    _readable(db, who, branch_id)
    rows = branches_service.closures(db, branch_id)
    return ClosureList(items=[ClosureRead.model_validate(c) for c in rows])


@router.post(
    "/{branch_id}/closures",
    status_code=201,
    response_model=ClosureAdded,
    summary="Close a branch on a day",
    responses={200: {"model": ClosureAdded, "description": "dry_run=true: nothing written"}},
)
def add_closure(
    branch_id: Id,
    body: ClosureCreate,
    db: Db,
    who: Caller,
    dry_run: Annotated[bool, Query(description="Answer what it would cancel")] = False,
) -> Any:
    """Close a branch on a day: its sessions that day are cancelled as branch_closed."""
    auth.check_write(who, branch_id)
    if dry_run:
        found = branches_service.preview_closure(db, branch_id, body.date)
        preview = ClosureAdded(
            dry_run=True,
            branch_id=branch_id,
            date=body.date,
            cancelled_session_ids=[],
            would_cancel=[SessionRead.model_validate(s) for s in found.sessions],
        )
        return JSONResponse(preview.model_dump(mode="json"))
    ids = branches_service.add_closure(
        db, branch_id, body.date, reason=body.reason, actor=who.actor
    )
    return ClosureAdded(
        dry_run=False, branch_id=branch_id, date=body.date, cancelled_session_ids=ids
    )


@router.delete("/{branch_id}/closures/{date}", summary="Reopen a closed day")
def remove_closure(
    branch_id: Id,
    date: Annotated[dt.date, Path(description="The closed day, YYYY-MM-DD")],
    db: Db,
    who: Caller,
) -> ClosureRemoved:
    """Reopen a day: sessions cancelled for the closure come back, generation fills the rest."""
    auth.check_write(who, branch_id)
    done = branches_service.remove_closure(db, branch_id, date, actor=who.actor)
    return ClosureRemoved(branch_id=branch_id, date=date, **done)
