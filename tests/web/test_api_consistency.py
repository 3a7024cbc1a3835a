"""The API's small promises: OPTIONS names the methods, dates are dates, reasons are named."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.factories.world import World, bearer, series_body


def _allow(answer: Response) -> set[str]:
    return set(answer.headers["allow"].replace(" ", "").split(","))


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/api/class-sessions", {"GET", "POST", "OPTIONS"}),
        ("/api/class-sessions/1/cancel", {"POST", "OPTIONS"}),
        ("/sign-in", {"GET", "POST", "OPTIONS"}),  # a page
        ("/series", {"GET", "POST", "OPTIONS"}),  # a page that needs a signed-in user
    ],
)
def test_options_answers_the_allowed_methods(
    client: TestClient, world: World, path: str, methods: set[str]
) -> None:
    answer = client.options(path, headers=bearer(world.admin))
    assert answer.status_code == 204, answer.text
    assert _allow(answer) == methods


@pytest.mark.parametrize(
    ("method", "path", "methods"),
    [
        ("DELETE", "/api/class-sessions", {"GET", "POST", "OPTIONS"}),
        ("PUT", "/api/class-sessions/1/cancel", {"POST", "OPTIONS"}),
        ("DELETE", "/sign-in", {"GET", "POST", "OPTIONS"}),
        ("PATCH", "/series", {"GET", "POST", "OPTIONS"}),
    ],
)
def test_a_405_names_every_allowed_method(
    client: TestClient, world: World, method: str, path: str, methods: set[str]
) -> None:
    answer = client.request(method, path, headers=bearer(world.admin))
    assert answer.status_code == 405, answer.text
    assert _allow(answer) == methods


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/class-sessions?date=0", "date"),
        ("/api/class-sessions?from=20261203", "from"),
        ("/api/audit/events?since=0.5", "since"),
    ],
)
def test_numbers_are_not_dates(client: TestClient, world: World, path: str, field: str) -> None:
    answer = client.get(path, headers=bearer(world.admin))
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == field


def test_cancelling_without_a_body_names_the_reason(client: TestClient, world: World) -> None:
    client.post("/api/class-series", json=series_body(world), headers=bearer(world.admin))
    first = client.get("/api/class-sessions?limit=1", headers=bearer(world.admin)).json()
    sid = first["items"][0]["id"]
    answer = client.post(f"/api/class-sessions/{sid}/cancel", headers=bearer(world.admin))
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["reason"]


def test_extend_says_why_the_series_changed(client: TestClient, world: World) -> None:
    series = client.post(
        "/api/class-series", json=series_body(world), headers=bearer(world.admin)
    ).json()
    ends = client.post(
        f"/api/class-series/{series['id']}/end",
        json={"last_date": "2099-01-01", "reason": "moving away in 2099"},
        headers=bearer(world.admin),
    )
    assert ends.status_code == 200, ends.text
    extended = client.post(
        f"/api/class-series/{series['id']}/extend",
        json={"last_date": "2100-01-01"},
        headers=bearer(world.admin),
    )
    assert extended.status_code == 200, extended.text
    assert extended.json()["series"]["status_reason"] == "extended to 2100-01-01 (was 2099-01-01)"


def test_a_clash_is_visible_from_the_confirmed_side_too(client: TestClient, world: World) -> None:
    day = {"date": "2026-12-03", "branch_id": world.branch_a, "teacher_id": world.teacher_1}
    first = client.post(
        "/api/class-sessions",
        json={**day, "student_id": world.student_1, "start_time": "18:00", "end_time": "19:00"},
        headers=bearer(world.admin),
    ).json()
    later = client.post(
        "/api/class-sessions",
        json={**day, "student_id": world.student_2, "start_time": "18:30", "end_time": "19:30"},
        headers=bearer(world.admin),
    ).json()
    assert later["status"] == "CONFLICTED"
    read = client.get(f"/api/class-sessions/{first['id']}", headers=bearer(world.admin)).json()
    assert read["status"] == "CONFIRMED"
    assert [(c["session_id"], c["shared"]) for c in read["clashed_by"]] == [
        (later["id"], ["teacher"])
    ]
    schedule = client.get(
        f"/api/branches/{world.branch_a}/schedule?date=2026-12-03", headers=bearer(world.admin)
    ).json()
    entries = {s["id"]: s for t in schedule["teachers"] for s in t["sessions"]}
    assert [c["session_id"] for c in entries[first["id"]]["clashed_by"]] == [later["id"]]
    assert entries[later["id"]]["clashed_by"] == []
