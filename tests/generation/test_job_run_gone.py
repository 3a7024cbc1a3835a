"""A generation run whose record a restore took away makes nothing more: each batch holds
the run's record, and a batch that finds none stops the run."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from komawari.audit.service import SYSTEM
from komawari.generation import service
from komawari.generation.enums import RunTrigger


def test_a_batch_holds_its_run_and_stops_when_the_record_is_gone(db: Session) -> None:
    run = service.start_run(db, trigger=RunTrigger.CLI, scope=service.Scope(), actor=SYSTEM)
    service.hold_run(db, run.id)  # recorded: goes on
    held = db.execute(
        text(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
            " WHERE c.relname = 'generation_runs' AND l.pid = pg_backend_pid()"
        )
    ).scalar_one()
    assert held >= 1, "the record is locked for the batch's transaction"
    db.execute(text("DELETE FROM generation_runs WHERE id = :id"), {"id": run.id})
    with pytest.raises(service.RunGone):
        service.hold_run(db, run.id)
