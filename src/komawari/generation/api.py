"""/api/generation-runs: what each run did, and generating on demand."""

from __future__ import annotations

from komawari.auth.dependencies import GenerationOrder, ReadableRun, VisibleBranchIds
from komawari.generation import service as generation
from komawari.generation.enums import RunTrigger
from komawari.generation.schemas import RunPage, RunRead, RunResultRead
from komawari.web.deps import Caller, Cursor, Db, Limit, id_after, next_id_cursor
from komawari.web.routing import api_router

router = api_router("/generation-runs", "generation")


@router.get("", summary="Generation runs, newest first")
def list_runs(
    db: Db, branch_ids: VisibleBranchIds, cursor: Cursor = None, limit: Limit = 50
) -> RunPage:
    """List runs: created, skipped and why, conflicts; staff see their branches' runs."""
    rows = generation.runs_of(
        db, branch_ids=branch_ids, before_id=id_after(cursor) or None, limit=limit
    )
    items = [RunRead.model_validate(r) for r in rows]
    return RunPage(items=items, next_cursor=next_id_cursor([r.id for r in items], limit))


@router.get("/{run_id}", summary="Get a run")
def get_run(run: ReadableRun) -> RunRead:
    """Return one run."""
    return RunRead.model_validate(run)


@router.post("", status_code=201, summary="Generate now")
def generate(body: GenerationOrder, db: Db, who: Caller) -> RunResultRead:
    """Materialise pending occurrences now: of a branch, a series, or (admin) everything."""
    result = generation.generate_in(
        db,
        trigger=RunTrigger.API,
        scope=generation.Scope(branch_id=body.branch_id, series_id=body.series_id),
        actor=who.actor,
    )
    return RunResultRead(**result.as_dict())
