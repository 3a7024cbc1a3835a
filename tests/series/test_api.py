"""/api/class-series: duplicates, weekday sets, dry runs, and the lifecycle."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from komawari.db.engine import session_scope
from komawari.generation.models import GenerationRun
from tests.factories.world import World, bearer, counts, next_weekday, series_body


@pytest.mark.parametrize(
    ("first", "second"),
    [([3, 1], [1, 3]), (["wed", "mon"], [1, 3]), ([1, 3, 3, "mon"], ["Wednesday", "1"])],
)
def test_weekdays_in_any_order_or_spelling_are_the_same_series(
    client: TestClient, world: World, first: list[object], second: list[object]
) -> None:
    made = client.post(
        "/api/class-series", json=series_body(world, weekdays=first), headers=bearer(world.admin)
    )
    assert made.status_code == 201
    assert made.json()["weekdays"] == [1, 3]
    again = client.post(
        "/api/class-series", json=series_body(world, weekdays=second), headers=bearer(world.admin)
    )
    assert again.status_code == 409
    assert again.json()["existing_series_id"] == made.json()["id"]


def test_created_series_answers_its_generation_and_location(
    client: TestClient, world: World
) -> None:
    made = client.post("/api/class-series", json=series_body(world), headers=bearer(world.admin))
    body = made.json()
    assert made.headers["location"] == f"/api/class-series/{body['id']}"
    assert body["generation"]["created"] > 0
    assert body["generated_through"] is not None
    fetched = client.get(made.headers["location"], headers=bearer(world.admin)).json()
    assert fetched["id"] == body["id"]


def test_dry_run_answers_sessions_and_conflicts_and_writes_nothing(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    first = client.post("/api/class-series", json=series_body(world), headers=bearer(world.admin))
    before = counts(committed_engine)
    with session_scope(committed_engine) as s:
        runs = s.scalar(select(func.count()).select_from(GenerationRun))
    # Same teacher, same time, another student: every session would conflict.
    preview = client.post(
        "/api/class-series?dry_run=true",
        json=series_body(world, student_id=world.student_2),
        headers=bearer(world.admin),
    )
    assert preview.status_code == 200
    answer = preview.json()
    assert answer["dry_run"] is True
    assert answer["counts"]["created"] == len(answer["sessions"]) > 0
    first_ids = {
        s["id"]
        for s in client.get("/api/class-sessions?limit=500", headers=bearer(world.admin)).json()[
            "items"
        ]
        if s["series_id"] == first.json()["id"]
    }
    for would in answer["sessions"]:
        assert would["status"] == "CONFLICTED"
        [blocker] = would["conflicts_with"]
        assert blocker["session_id"] in first_ids
        assert blocker["shared"] == ["teacher"]
    assert counts(committed_engine) == before
    with session_scope(committed_engine) as s:
        assert s.scalar(select(func.count()).select_from(GenerationRun)) == runs
    # The dry run of a duplicate is the same 409.
    dup = client.post(
        "/api/class-series?dry_run=true", json=series_body(world), headers=bearer(world.admin)
    )
    assert dup.status_code == 409


def test_extend_generates_at_once_and_answers_the_counts(client: TestClient, world: World) -> None:
    start = next_weekday(4, weeks=0)
    made = client.post(
        "/api/class-series",
        json=series_body(world, first_date=start.isoformat(), last_date=start.isoformat()),
        headers=bearer(world.admin),
    ).json()
    assert made["generation"]["created"] == 1
    extended = client.post(
        f"/api/class-series/{made['id']}/extend",
        json={"last_date": (start + timedelta(weeks=3)).isoformat()},
        headers=bearer(world.admin),
    )
    assert extended.status_code == 200
    assert extended.json()["generation"]["created"] == 3
    assert extended.json()["series"]["last_date"] == (start + timedelta(weeks=3)).isoformat()


def test_pause_resume_end_and_change_from(client: TestClient, world: World) -> None:
    admin = bearer(world.admin)
    made = client.post("/api/class-series", json=series_body(world), headers=admin).json()
    sid = made["id"]
    paused = client.post(
        f"/api/class-series/{sid}/pause",
        json={"reason": "break", "cancel_future": True},
        headers=admin,
    )
    assert paused.json()["series"]["status"] == "PAUSED"
    assert paused.json()["cancelled_session_ids"]
    twin = client.post("/api/class-series", json=series_body(world), headers=admin)
    assert twin.status_code == 201  # a paused series is no ACTIVE duplicate
    blocked = client.post(f"/api/class-series/{sid}/resume", headers=admin)
    assert blocked.status_code == 409
    assert blocked.json()["existing_series_id"] == twin.json()["id"]
    cut = next_weekday(4, weeks=2)
    ended = client.post(
        f"/api/class-series/{twin.json()['id']}/end",
        json={"last_date": cut.isoformat(), "reason": "moving"},
        headers=admin,
    ).json()
    assert ended["cancelled_session_ids"]
    changed = client.post(
        f"/api/class-series/{twin.json()['id']}/change-from",
        json={
            "from_date": (cut - timedelta(weeks=1)).isoformat(),
            "start_time": "18:00",
            "end_time": "19:00",
        },
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["series"]["start_time"] == "18:00"
    assert changed.json()["previous_series_id"] == twin.json()["id"]


def test_a_group_series_enrols_students(client: TestClient, world: World) -> None:
    admin = bearer(world.admin)
    group = client.post(
        "/api/class-series",
        json=series_body(
            world,
            kind="GROUP",
            student_id=None,
            title="Conversation",
            capacity=2,
            student_ids=[world.student_1],
            weekdays=["sat"],
        ),
        headers=admin,
    )
    assert group.status_code == 201, group.text
    gid = group.json()["id"]
    enrolled = client.post(
        f"/api/class-series/{gid}/enrolments",
        json={"student_id": world.student_2, "from_date": date.today().isoformat()},
        headers=admin,
    )
    assert enrolled.status_code == 201
    full = client.post(
        f"/api/class-series/{gid}/enrolments",
        json={"student_id": world.student_3, "from_date": date.today().isoformat()},
        headers=admin,
    )
    assert full.status_code == 422
    assert full.json()["errors"][0]["field"] == "student_id"
    listed = client.get(f"/api/class-sessions?student_id={world.student_2}", headers=admin).json()[
        "items"
    ]
    assert listed
    assert {s["series_id"] for s in listed} == {gid}


def test_unknown_series_is_404(client: TestClient, world: World) -> None:
    response = client.get("/api/class-series/424242", headers=bearer(world.admin))
    assert response.status_code == 404
    assert response.json()["detail"] == "there is no series number 424242"
