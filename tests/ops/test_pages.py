"""The operator's page: admins only; the doctor's findings, runs, skips and the audit log."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from komawari.auth.enums import Role
from tests.factories.world import World
from tests.web.pages import make_user, sign_in


def test_the_operator_page_is_for_admins_and_shows_what_to_check(
    client: TestClient,
    world: World,
    committed_engine: Engine,
) -> None:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303
    assert client.get("/operator").status_code == 403
    client.cookies.clear()
    make_user(committed_engine, "root", Role.ADMIN)
    assert sign_in(client, "root") == 303
    page = client.get("/operator")
    assert page.status_code == 200
    assert "No duplicates, every guard in place." in page.text
    assert "ux_class_sessions_unique_1on1" in page.text
    assert "<svg" in page.text
    assert "user.create" in page.text  # the audit log
    filtered = client.get("/operator", params={"action": "web_session.sign_in"})
    assert "user.create" not in filtered.text.split('id="audit"')[1]
    assert "web_session.sign_in" in filtered.text.split('id="audit"')[1]
    assert client.get("/operator", params={"action": "bad action!"}).status_code == 422
