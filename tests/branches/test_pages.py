"""Closure days from the pages: the lessons a closure cancels are shown first, then
cancelled (and kept), and reopening the day brings them back."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from komawari.auth.enums import Role
from komawari.sessions.enums import SessionStatus
from tests.factories.world import World, book, status_of
from tests.web.pages import csrf_of, make_user, sign_in

DAY = date(2026, 12, 17)


def test_a_closure_shows_what_it_cancels_then_cancels_it_and_reopening_restores_it(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    lesson = book(committed_engine, world, DAY, "18:00", "19:00")
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303
    url = f"/branches/{world.branch_a}/closures"
    preview = client.get(url, params={"date": str(DAY), "reason": "exams"})
    assert preview.status_code == 200
    assert f"/sessions/{lesson}" in preview.text.split('id="cancelled"')[1]
    assert status_of(committed_engine, lesson) == SessionStatus.CONFIRMED
    token = csrf_of(preview.text)
    added = client.post(url, data={"csrf_token": token, "date": str(DAY), "reason": "exams"})
    assert added.status_code == 200
    assert "exams" in added.text
    assert status_of(committed_engine, lesson) == SessionStatus.CANCELLED
    reopened = client.post(f"{url}/remove", data={"csrf_token": token, "date": str(DAY)})
    assert reopened.status_code == 200
    assert status_of(committed_engine, lesson) == SessionStatus.CONFIRMED


def test_a_bad_closure_date_is_named_and_another_branch_is_not_found(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303
    url = f"/branches/{world.branch_a}/closures"
    token = csrf_of(client.get(url).text)
    bad = client.post(url, data={"csrf_token": token, "date": "1800-01-01"})
    assert bad.status_code == 422
    assert 'id="date-error"' in bad.text
    assert client.get(f"/branches/{world.branch_b}/closures").status_code == 404
    other = client.post(f"/branches/{world.branch_b}/closures",
                        data={"csrf_token": token, "date": str(DAY)})  # fmt: skip
    assert other.status_code == 404
