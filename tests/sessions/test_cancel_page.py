"""Cancelling a lesson from its page: a reason is required, and the clash it caused clears."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from komawari.audit.models import AuditEvent
from komawari.auth.enums import Role
from komawari.db.engine import session_scope
from komawari.sessions.enums import SessionStatus
from tests.factories.world import World, book, status_of
from tests.web.pages import csrf_of, make_user, sign_in

DAY = date(2026, 12, 3)


def test_cancelling_the_blocker_turns_its_clash_partner_confirmed(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    first = book(committed_engine, world, DAY, "20:00", "21:00", student_id=world.student_1)
    later = book(committed_engine, world, DAY, "20:30", "21:30", student_id=world.student_2)
    assert status_of(committed_engine, later) == SessionStatus.CONFLICTED
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303
    page = client.get(f"/sessions/{first}")
    assert f"/sessions/{later}" in page.text
    missing = client.post(
        f"/sessions/{first}/cancel", data={"csrf_token": csrf_of(page.text), "reason": " "}
    )
    assert missing.status_code == 422
    assert status_of(committed_engine, first) == SessionStatus.CONFIRMED
    done = client.post(
        f"/sessions/{first}/cancel",
        data={"csrf_token": csrf_of(page.text), "reason": "teacher ill"},
    )
    assert done.status_code == 200
    assert "The lesson is cancelled." in done.text
    assert status_of(committed_engine, later) == SessionStatus.CONFIRMED
    with session_scope(committed_engine) as s:  # promise 7: who did it, from which session
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "session.cancel")).one()
        assert event.actor_type == "user"
        assert event.actor.startswith("user:office web-session:")
        assert event.reason == "teacher ill"
    section = done.text.split('id="re-evaluated"')[1]
    assert f"/sessions/{later}" in section
    assert "Confirmed" in section


def test_staff_of_another_branch_can_neither_see_nor_cancel_a_lesson(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    lesson = book(committed_engine, world, DAY, "18:00", "19:00", student_id=world.student_1)
    make_user(committed_engine, "elsewhere", Role.STAFF, branch_ids=[world.branch_b])
    assert sign_in(client, "elsewhere") == 303
    token = csrf_of(client.get(f"/branches/{world.branch_b}/day").text)
    assert client.get(f"/sessions/{lesson}").status_code == 404
    refused = client.post(f"/sessions/{lesson}/cancel", data={"csrf_token": token, "reason": "x"})
    assert refused.status_code == 404
    assert status_of(committed_engine, lesson) == SessionStatus.CONFIRMED
