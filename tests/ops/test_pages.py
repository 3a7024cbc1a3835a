"""The operator's page: admins only; the doctor's findings, runs, skips and the audit log."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from komawari.auth.enums import Role
from tests.factories.world import World, bearer, next_weekday, one_off_body
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
    assert "Data: no duplicates, every guard in place." in page.text
    assert "ux_class_sessions_unique_1on1" in page.text
    assert "<svg" in page.text
    assert "user.create" in page.text  # the audit log
    filtered = client.get("/operator", params={"action": "web_session.sign_in"})
    assert "user.create" not in filtered.text.split('id="audit"')[1]
    assert "web_session.sign_in" in filtered.text.split('id="audit"')[1]
    assert client.get("/operator", params={"action": "bad action!"}).status_code == 422


def test_the_operator_page_keeps_clashes_apart_from_data_health(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    """The office's finding: "✓ No duplicates" stood beside open clashes. Data health
    says the data is sound; the schedule's clashes are counted apart, per branch."""
    day = next_weekday(2)
    for student in (world.student_1, world.student_2):
        body = one_off_body(world, date=day.isoformat(), student_id=student)
        assert (
            client.post("/api/class-sessions", json=body, headers=bearer(world.admin)).status_code
            == 201
        )
    make_user(committed_engine, "root", Role.ADMIN)
    assert sign_in(client, "root") == 303
    page = client.get("/operator").text
    health = page.split('id="doctor"')[1].split("</section>")[0]
    clashes = page.split('id="schedule-clashes"')[1].split("</section>")[0]
    assert "✓" in health
    assert "⚠" not in health
    assert (
        f'href="/branches/{world.branch_a}/clashes">Shibuya</a></td><td><span class="tag bad">⚠ 1'
        in clashes
    )
    assert "✓ 0" in clashes  # Osaka
