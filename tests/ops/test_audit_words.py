"""The audit log on the operator's page: people's names, named lessons, and each time in
the zone of the branch it concerns, with the zone named where it is not the page's."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from komawari.audit import service as audit
from komawari.audit.models import AuditEvent
from komawari.audit.service import Actor
from komawari.auth.enums import Role
from komawari.branches import service as branches
from komawari.db.engine import session_scope
from tests.factories.world import SETUP, World, bearer, one_off_body
from tests.web.pages import make_user, sign_in
from tests.web.visible_text import visible_text

AT = datetime(2026, 12, 7, 5, 45, tzinfo=UTC)  # 14:45 in Tokyo, 00:45 in New York


def _row(html: str, marker: str) -> str:
    rows = re.findall(r"<tr>.*?</tr>", html, flags=re.S)
    found = [visible_text(r) for r in rows if marker in r]
    assert found, marker
    return found[0]


def test_audit_times_are_in_each_branchs_zone_against_the_zone_the_page_names(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    with session_scope(committed_engine) as s:
        ny = branches.create(s, name="Manhattan", time_zone="America/New_York", actor=SETUP)
        for branch_id, reason in ((world.branch_a, "tokyo row"), (ny.id, "new york row")):
            event = audit.record(
                s, actor=Actor("user", "user:sato web-session:4"), action="branch.holidays",
                subject_type="branch", subject_id=branch_id, branch_id=branch_id, reason=reason,
            )  # fmt: skip
            s.flush()
            s.execute(update(AuditEvent).where(AuditEvent.id == event.id).values(at=AT))
    make_user(committed_engine, "boss", Role.ADMIN)
    assert sign_in(client, "boss") == 303
    html = client.get("/operator", headers={"Accept-Language": "en"}).text
    assert "Times are in Asia/Tokyo." in visible_text(html)
    tokyo = _row(html, "tokyo row")
    assert "Dec 7, 2026 14:45" in tokyo
    assert "(" not in tokyo.split("¦")[0], "the page's own zone is not repeated"
    new_york = _row(html, "new york row")
    assert "Dec 7, 2026 00:45 ¦ (America/New_York)" in new_york
    assert "sato, on the web" in new_york
    assert "changed the national-holiday closures" in new_york
    assert "Manhattan" in new_york


def test_a_lesson_is_named_and_a_generation_run_is_one_line(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    made = client.post(
        "/api/class-sessions", headers=bearer(world.staff_a), json=one_off_body(world)
    )
    lesson = made.json()["id"]
    client.post(f"/api/class-sessions/{lesson}/cancel", headers=bearer(world.staff_a),
                json={"reason": "ill"})  # fmt: skip
    with session_scope(committed_engine) as s:
        for day in (1, 8, 15):
            s.add(
                AuditEvent(
                    actor_type="generator", actor="run:39", action="occurrence.skipped_existing",
                    subject_type="series", branch_id=world.branch_a, run_id=39,
                    occurrence_date=datetime(2027, 1, day).date(), reason="already exists",
                )
            )  # fmt: skip
    make_user(committed_engine, "boss", Role.ADMIN)
    assert sign_in(client, "boss") == 303
    html = client.get("/operator", headers={"Accept-Language": "en"}).text
    text = visible_text(html)
    cancelled = _row(html, f'href="/sessions/{lesson}"')
    assert "cancelled a lesson" in cancelled
    assert re.search(r"with .+Sensei|with \w+", cancelled), cancelled
    assert f"lesson {lesson}" not in text
    skipped = [r for r in re.findall(r"<tr>.*?</tr>", html, flags=re.S) if "already existed" in r]
    assert len(skipped) == 1, "a run's skipped dates are one line"
    assert "3 dates" in visible_text(skipped[0])
    assert "lesson generation" in visible_text(skipped[0])
    assert "run:" not in text
