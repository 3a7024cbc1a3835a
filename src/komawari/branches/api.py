"""/api/branches: branches, closure days, and the day's schedule at a branch."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from cachetools import LRUCache
from fastapi import Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from komawari.auth.dependencies import (
    AdminCaller,
    OwnBranchIds,
    ReadableBranch,
    ReadableBranchState,
    WritableBranch,
)
from komawari.auth.policy import Principal
from komawari.branches import periods, versions
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
    HolidayDay,
    HolidaySetting,
    HolidaySettingRead,
    PeriodCreate,
    PeriodList,
    PeriodRead,
    ReminderTimeSet,
)
from komawari.config import get_settings
from komawari.errors import InvalidInput
from komawari.scheduling import clock
from komawari.scheduling.fields import Day
from komawari.sessions import queries, read_model
from komawari.sessions.reads import read_sessions
from komawari.sessions.schemas import BranchSchedule, ClashList, ClashRead
from komawari.web.deps import Caller, Db
from komawari.web.routing import api_router
from komawari.words import say

router = api_router("/branches", "branches")
MAX_CLASH_DAYS = 92  # a clash list covers a quarter at most
# The day's schedule authenticates in its own statement (ReadableBranchState).
schedule_router = api_router("/branches", "branches", caller=False)
routers = (router, schedule_router)


@router.get("", summary="List branches")
def list_branches(db: Db, ids: OwnBranchIds) -> BranchList:
    """List the branches this token may see."""
    rows = branches_service.list_branches(db, ids=ids)
    return BranchList(items=[BranchRead.model_validate(b) for b in rows])


@router.post("", status_code=201, summary="Create a branch (admin)")
def create_branch(body: BranchCreate, db: Db, who: AdminCaller) -> BranchRead:
    """Create a branch in an IANA time zone."""
    row = branches_service.create(db, name=body.name, time_zone=body.time_zone, actor=who.actor)
    return BranchRead.model_validate(row)


@router.get("/{branch_id}/clashes", summary="Every clash of a period", response_model_by_alias=True)
def list_clashes(
    branch: ReadableBranch,
    db: Db,
    who: Caller,
    date_from: Annotated[Day | None, Query(alias="from", description="First day (today)")] = None,
    date_to: Annotated[Day | None, Query(alias="to", description="Last day (4 weeks on)")] = None,
) -> ClashList:
    """List every clash of the period (at most 93 days) where either lesson is at this
    branch: both sides, each redacted where the caller may not read it, and what they
    share. Fix one on its lesson: move, substitute, change room or cancel."""
    first = date_from or clock.branch_today(branch.time_zone)
    last = date_to or first + dt.timedelta(days=27)
    if last < first:
        raise InvalidInput(
            "to",
            say(
                "clashes.to-before-from",
                "the last day (%(last)s) is before the first day (%(first)s)",
                last=last,
                first=first,
            ),
        )
    if (last - first).days > MAX_CLASH_DAYS:
        raise InvalidInput(
            "to",
            say(
                "clashes.too-many-days",
                "a clash list covers %(days)s days at most",
                days=MAX_CLASH_DAYS + 1,
            ),
        )
    pairs = read_model.clash_pairs(db, branch_ids=[branch.id], first=first, last=last, viewer=who)
    return ClashList(
        date_from=first,
        date_to=last,
        count=len(pairs),
        items=[
            ClashRead(
                later={**p.later, "shared": p.shared},
                earlier={**p.earlier, "shared": p.shared},
                shared=p.shared,
            )
            for p in pairs
        ],
    )


@router.get("/{branch_id}", summary="Get a branch")
def get_branch(branch: ReadableBranch) -> BranchRead:
    """Return a branch."""
    return BranchRead.model_validate(branch)


# Built answers by (branch, day, what the viewer may see, the state read in the request):
# a hit is as current as a 304, since the state comes from PostgreSQL in that request.
# One per application (so per process and database); read and written on the event loop
# only, so it needs no lock.
Built = LRUCache[tuple[object, ...], bytes]


def _cache(request: Request) -> Built | None:
    state = request.app.state
    if not hasattr(state, "schedule_cache"):
        mb = get_settings().schedule_cache
        state.schedule_cache = LRUCache(maxsize=mb * 1024 * 1024, getsizeof=len) if mb else None
    found: Built | None = state.schedule_cache
    return found


def _build(request: Request, branch_id: int, day: dt.date, who: Principal) -> bytes:
    with request.app.state.sessions() as db:
        found = queries.branch_day(db, branch_id=branch_id, day=day, viewer=who)
    return found.model_dump_json().encode()


@schedule_router.get(
    "/{branch_id}/schedule",
    summary="The day at a branch",
    response_model=BranchSchedule,
    responses={304: {"description": "Not modified: the If-None-Match ETag is current"}},
)
async def schedule(
    branch: ReadableBranchState,
    request: Request,
    date: Annotated[Day, Query(description="The day, YYYY-MM-DD")],
    if_none_match: Annotated[str | None, Header(description="An ETag of this day")] = None,
) -> Response:
    """Return the day at a branch: teachers with their sessions, conflicts named."""
    who = branch.who
    # What a caller may see of other branches' lessons depends on who asks.
    scope = (who.role, who.teacher_id, tuple(sorted(who.branch_ids)))
    tag = branch.state.etag(branch.branch_id, date, *scope)
    headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
    if versions.matches(if_none_match, tag):
        return Response(status_code=304, headers=headers)
    cache, key = _cache(request), (branch.branch_id, date, scope, branch.state)
    body = cache.get(key) if cache is not None else None
    if body is None:
        body = await run_in_threadpool(_build, request, branch.branch_id, date, who)
        if cache is not None:
            cache[key] = body
    return Response(body, media_type="application/json", headers=headers)


@router.get("/{branch_id}/closures", summary="List closure days")
def list_closures(branch: ReadableBranch, db: Db) -> ClosureList:
    """List a branch's closure days."""
    rows = branches_service.closures(db, branch.id)
    return ClosureList(items=[ClosureRead.model_validate(c) for c in rows])


@router.post(
    "/{branch_id}/closures",
    status_code=201,
    response_model=ClosureAdded,
    summary="Close a branch on a day or a range of days",
    responses={200: {"model": ClosureAdded, "description": "dry_run=true: nothing written"}},
)
def add_closure(
    branch: WritableBranch,
    body: ClosureCreate,
    db: Db,
    who: Caller,
    dry_run: Annotated[bool, Query(description="Answer what it would cancel")] = False,
) -> Any:
    """Close a branch on a day, or on every day from `date` to `until`: its sessions on
    those days are cancelled as branch_closed (409 naming any day already closed)."""
    if dry_run:
        found = branches_service.preview_closure(db, branch.id, body.date, body.until)
        preview = ClosureAdded(
            dry_run=True,
            branch_id=branch.id,
            date=body.date,
            until=body.until,
            cancelled_session_ids=[],
            would_cancel=read_sessions(db, found.sessions, viewer=who),
        )
        return JSONResponse(preview.model_dump(mode="json"))
    ids = branches_service.add_closures(
        db, branch.id, body.days, reason=body.reason, actor=who.actor
    )
    return ClosureAdded(
        dry_run=False, branch_id=branch.id, date=body.date, until=body.until,
        cancelled_session_ids=ids,
    )  # fmt: skip


@router.post("/{branch_id}/holidays", summary="Close on national holidays, or stop")
def set_holidays(
    branch: WritableBranch,
    body: HolidaySetting,
    db: Db,
    who: Caller,
    dry_run: Annotated[bool, Query(description="Answer what it would do")] = False,
) -> HolidaySettingRead:
    """Turn "closed on Japan's national holidays" on (each holiday of the next two years
    becomes a closure, its lessons cancelled) or off (those closures from today on are
    removed, their lessons back). With dry_run, what it would do; nothing is written."""
    if dry_run:
        change = branches_service.preview_holidays(db, branch.id, closed=body.closed)
    else:
        change = branches_service.set_closed_on_holidays(
            db, branch.id, closed=body.closed, actor=who.actor
        )
    return HolidaySettingRead(
        dry_run=dry_run,
        branch_id=branch.id,
        closed_on_holidays=body.closed if not dry_run else branch.closed_on_holidays,
        days=[HolidayDay(date=d, name=n) for d, n in change.days],
        sessions=read_sessions(db, change.sessions, viewer=who),
    )


@router.post("/{branch_id}/reminder-time", summary="Set when the day-before reminders go")
def set_reminder_time(
    branch: WritableBranch, body: ReminderTimeSet, db: Db, who: Caller
) -> BranchRead:
    """Set the time, in the branch's zone, at which each family and teacher is reminded of
    the next day's lessons (one message per family)."""
    return BranchRead.model_validate(
        branches_service.set_reminder_time(db, branch.id, at=body.time, actor=who.actor)
    )


@router.get("/{branch_id}/periods", summary="List the branch's periods")
def list_periods(branch: ReadableBranch, db: Db) -> PeriodList:
    """List the branch's fixed periods (コマ), by start."""
    return PeriodList(items=[PeriodRead.model_validate(p) for p, _ in periods.of(db, [branch.id])])


@router.post("/{branch_id}/periods", status_code=201, summary="Add a period")
def add_period(branch: WritableBranch, body: PeriodCreate, db: Db, who: Caller) -> PeriodRead:
    """Add a fixed period (コマ) to the branch (409 when it has one of that name)."""
    return PeriodRead.model_validate(periods.add(db, branch.id, body, actor=who.actor))


@router.delete("/{branch_id}/periods/{period_id}", status_code=204, summary="Remove a period")
def remove_period(
    branch: WritableBranch, period_id: Annotated[int, Path(gt=0)], db: Db, who: Caller
) -> Response:
    """Remove a period; lessons booked in it keep their times."""
    periods.remove(db, branch.id, period_id, actor=who.actor)
    return Response(status_code=204)


@router.delete("/{branch_id}/closures/{date}", summary="Reopen a closed day")
def remove_closure(
    branch: WritableBranch,
    date: Annotated[dt.date, Path(description="The closed day, YYYY-MM-DD")],
    db: Db,
    who: Caller,
) -> ClosureRemoved:
    """Reopen a day: sessions cancelled for the closure come back, generation fills the rest."""
    done = branches_service.remove_closure(db, branch.id, date, actor=who.actor)
    return ClosureRemoved(branch_id=branch.id, date=date, **done)
