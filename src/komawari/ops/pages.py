"""The operator's page (admins): the doctor's findings, the last generation runs, what
generation skipped as already existing, and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Query
from fastapi.responses import Response

from komawari.audit import service as audit
from komawari.audit import words as audit_words
from komawari.auth.dependencies import AdminCaller
from komawari.branches import service as branches
from komawari.config import get_settings
from komawari.generation import service as generation
from komawari.ops import doctor
from komawari.scheduling import clock
from komawari.sessions import read_model
from komawari.web import charts
from komawari.web.deps import Db
from komawari.web.pages import UserPage
from komawari.web.routing import page_router

router = page_router()
WEEKS = 8


@router.get("/operator")
def operator(
    page: UserPage,
    who: AdminCaller,
    db: Db,
    action: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_.]+$")] = None,
    subject: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]+$")] = None,
) -> Response:
    """Show what an operator checks first, and the audit log with filters."""
    now = datetime.now(UTC)
    zone = get_settings().default_timezone
    first = (now - timedelta(weeks=WEEKS)).date()
    skipped = audit.skipped_report(db, since=now - timedelta(weeks=WEEKS), limit=0)
    clashes = [
        (b.id, b.name, read_model.clash_count(
            db, branch_ids=[b.id], first=(day := clock.branch_today(b.time_zone)),
            last=day + timedelta(days=27),
        ))
        for b in branches.list_branches(db, ids=None)
    ]  # fmt: skip
    return page.render(
        "operator.html",
        diagnosis=doctor.diagnose(db, top=10),
        clashes=clashes,
        runs=generation.runs_of(db, limit=15),
        chart=charts.daily_bars(skipped.per_day, first=first, days=WEEKS * 7 + 1),
        events=audit_words.lines(
            db, audit.events(db, action=action, subject_type=subject, limit=100), default_zone=zone
        ),
        zone=zone,
        filters={"action": action or "", "subject": subject or ""},
    )
