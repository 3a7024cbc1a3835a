"""One list of run counts: the table's columns, the schemas and the results all follow it."""

from __future__ import annotations

from sqlalchemy import column, inspect, select, table, text
from sqlalchemy.orm import Session

from komawari.audit.service import SYSTEM
from komawari.generation import service as generation
from komawari.generation.counts import NAMES, RunCounts
from komawari.generation.enums import RunStatus, RunTrigger
from komawari.generation.models import GenerationRun
from komawari.generation.schemas import RunRead, RunResultRead
from komawari.series.preview import SeriesDryRun


def test_every_count_is_a_column_a_schema_field_and_a_result_key(db: Session) -> None:
    # The migrated table, not the model: a count added to RunCounts without a migration,
    # or a count column added by a migration and not to RunCounts, both fail here.
    migrated = {
        name
        for name, default in db.execute(
            text(
                "SELECT column_name, column_default FROM information_schema.columns"
                " WHERE table_name = 'generation_runs'"
            )
        )
        if default is not None and default.split("::")[0].strip("'") == "0"
    }
    assert migrated == set(NAMES)
    composite = inspect(GenerationRun).composites["counts"]
    assert [column.name for column in composite.columns] == list(NAMES)
    for schema in (RunRead, RunResultRead):
        assert set(NAMES) <= set(schema.model_fields), schema
    assert SeriesDryRun.model_fields["counts"].annotation == RunCounts | None
    result = generation.RunResult(1, "succeeded", RunCounts())
    assert set(result.as_dict()) == {"run_id", "status", "error", *NAMES}


def test_a_run_s_counts_are_stored_read_and_shown_each_under_its_own_name(db: Session) -> None:
    counts = RunCounts(**{name: 10 + i for i, name in enumerate(NAMES)})
    run = generation.start_run(db, trigger=RunTrigger.CLI, scope=generation.Scope(), actor=SYSTEM)
    result = generation.finish_run(db, run_id=run.id, status=RunStatus.SUCCEEDED, counts=counts)
    stored: dict[str, object] = dict(
        db.execute(
            select(*(column(name) for name in NAMES))
            .select_from(table("generation_runs"))
            .where(column("id") == run.id)
        )
        .one()
        ._mapping
    )
    assert stored == counts.model_dump()
    db.expire_all()
    read = db.get(GenerationRun, run.id)
    assert read is not None
    assert read.counts == counts
    shown = RunRead.model_validate(read).model_dump()
    assert {name: shown[name] for name in NAMES} == counts.model_dump()
    assert RunResultRead(**result.as_dict()).model_dump() == {
        "run_id": run.id,
        "status": "succeeded",
        "error": None,
        **counts.model_dump(),
    }


def test_counts_add_up_name_by_name() -> None:
    one = RunCounts(**{name: 1 + i for i, name in enumerate(NAMES)})
    two = RunCounts(**{name: 100 * (1 + i) for i, name in enumerate(NAMES)})
    assert (one + two).model_dump() == {name: 101 * (1 + i) for i, name in enumerate(NAMES)}
