"""/api/generation-runs: what each run did, and generating on demand."""

from __future__ import annotations

from komawari.auth import service as auth
from komawari.generation import service as generation
from komawari.generation.enums import RunTrigger
from komawari.generation.schemas import GenerateRequest, RunPage, RunRead, RunResultRead
from komawari.series import service as series_service
from komawari.web.deps import Caller, Cursor, Db, Id, Limit, OptId, id_after, next_id_cursor
from komawari.web.routing import api_router

router = api_router("/generation-runs", "generation")


@router.get("", summary="Generation runs, newest first")
def list_runs(
    db: Db, who: Caller, branch_id: OptId = None, cursor: Cursor = None, limit: Limit = 50
) -> RunPage:
    """List runs: created, skipped and why, conflicts; staff see their branches' runs."""
    rows = generation.runs_of(
        db,
        branch_ids=auth.branch_filter(who, branch_id),
        before_id=id_after(cursor) or None,
        limit=limit,
    )
    items = [RunRead.model_validate(r) for r in rows]
    return RunPage(items=items, next_cursor=next_id_cursor([r.id for r in items], limit))


@router.get("/{run_id}", summary="Get a run")
def get_run(run_id: Id, db: Db, who: Caller) -> RunRead:
    """Return one run."""
    auth.require_staff(who)
    run, branch_id = generation.run_branch_id(db, run_id)
    auth.check_read(who, branch_id, f"generation run {run_id}")
    return RunRead.model_validate(run)


@router.post("", status_code=201, summary="Generate now")
def generate(body: GenerateRequest, db: Db, who: Caller) -> RunResultRead:
    """Materialise pending occurrences now: of a branch, a series, or (admin) everything."""
    branch_id = body.branch_id
    if body.series_id is not None:
        branch_id = series_service.get(db, body.series_id).branch_id
    auth.check_write(who, branch_id)
    result = generation.generate_in(
        db,
        trigger=RunTrigger.API,
        scope=generation.Scope(branch_id=body.branch_id, series_id=body.series_id),
        actor=who.actor,
    )
    return RunResultRead(**result.as_dict())
