"""Bad input gets a 422 problem that names each bad field, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.factories.world import World, bearer, counts, series_body

PROBLEM = "application/problem+json"


def _fields(response: Any) -> set[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 422
    assert problem["title"] == "Invalid input"
    assert "Traceback" not in response.text
    return {e["field"] for e in problem["errors"]}


SERIES_CASES: list[tuple[str, dict[str, object], str]] = [
    ("unknown field", {"colour": "red"}, "colour"),
    ("weekday out of range", {"weekdays": [8]}, "weekdays"),
    ("weekday name", {"weekdays": ["funday"]}, "weekdays"),
    ("no weekday", {"weekdays": []}, "weekdays"),
    ("hour 25", {"start_time": "25:00"}, "start_time"),
    ("not HH:MM", {"start_time": "9am"}, "start_time"),
    ("end before start", {"end_time": "19:00"}, "end_time"),
    ("month 13", {"first_date": "2026-13-01"}, "first_date"),
    ("not a date", {"first_date": "tomorrow"}, "first_date"),
    ("last before first", {"last_date": "2000-01-01"}, "last_date"),
    ("wrong type", {"branch_id": "abc"}, "branch_id"),
    ("negative id", {"teacher_id": -1}, "teacher_id"),
    ("every 0 weeks", {"interval_weeks": 0}, "interval_weeks"),
    ("private without student", {"student_id": None}, "student_id"),
    ("no such teacher", {"teacher_id": 999_999}, "teacher_id"),
    ("no such student", {"student_id": 999_999}, "student_id"),
    ("a room of another branch", {"room_id": "ROOM_B"}, "room_id"),
]


@pytest.mark.parametrize(
    ("case", "change", "field"), SERIES_CASES, ids=[c[0] for c in SERIES_CASES]
)
def test_bad_series_input_is_422_naming_the_field_and_writes_nothing(
    client: TestClient,
    world: World,
    committed_engine: Engine,
    case: str,
    change: dict[str, object],
    field: str,
) -> None:
    change = {k: world.room_b if v == "ROOM_B" else v for k, v in change.items()}
    before = counts(committed_engine)
    response = client.post(
        "/api/class-series", json=series_body(world, **change), headers=bearer(world.admin)
    )
    assert field in _fields(response)
    assert counts(committed_engine) == before


def test_a_missing_field_is_named(client: TestClient, world: World) -> None:
    body = series_body(world)
    del body["teacher_id"]
    response = client.post("/api/class-series", json=body, headers=bearer(world.admin))
    assert _fields(response) == {"teacher_id"}


def test_several_bad_fields_are_all_named(client: TestClient, world: World) -> None:
    body = series_body(world, weekdays=[0], start_time="7pm", first_date="2026-02-30")
    response = client.post("/api/class-series", json=body, headers=bearer(world.admin))
    assert _fields(response) == {"weekdays", "start_time", "first_date"}


def test_a_body_that_is_not_json_is_422(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/class-series",
        content=b"{not json",
        headers={**bearer(world.admin), "Content-Type": "application/json"},
    )
    assert _fields(response) == {"body"}


def test_an_unknown_time_zone_is_422_naming_it(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    before = counts(committed_engine)
    response = client.post(
        "/api/branches",
        json={"name": "Mars base", "time_zone": "Mars/Olympus_Mons"},
        headers=bearer(world.admin),
    )
    assert _fields(response) == {"time_zone"}
    assert counts(committed_engine) == before


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/class-sessions?date=2026-02-30", "date"),
        ("/api/class-sessions?from=yesterday", "from"),
        ("/api/class-sessions?status=LOST", "status"),
        ("/api/class-sessions?limit=0", "limit"),
        ("/api/class-sessions?cursor=nonsense", "cursor"),
        ("/api/class-sessions?date=2026-12-01&from=2026-12-01", "date"),
        ("/api/class-series/abc", "series_id"),
        ("/api/class-series/0", "series_id"),
        ("/api/class-series?cursor=-5", "cursor"),
        ("/api/class-series?cursor=%C2%B2", "cursor"),  # a superscript 2: a digit, not a cursor
        ("/api/branches/1/schedule", "date"),
        ("/api/branches/1/schedule?date=31-12-2026", "date"),
        ("/api/audit/events?since=last-week", "since"),
    ],
)
def test_bad_query_and_path_values_are_422_naming_them(
    client: TestClient, world: World, url: str, field: str
) -> None:
    assert field in _fields(client.get(url, headers=bearer(world.admin)))


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/class-sessions", {"date": "2026-12-03"}, "branch_id"),
        ("/api/class-sessions/1/cancel", {}, "reason"),
        ("/api/class-sessions/1/cancel", {"reason": "   "}, "reason"),
        ("/api/class-sessions/1/move", {}, "date"),
        ("/api/class-sessions/1/move", {"start_time": "24:00"}, "start_time"),
        ("/api/class-series/1/extend", {"last_date": "soon"}, "last_date"),
        ("/api/class-series/1/end", {}, "last_date"),
        (
            "/api/class-series/1/change-from",
            {"from_date": "2026-12-01", "weekdays": [9]},
            "weekdays",
        ),
        ("/api/rooms", {"branch_id": 1, "name": "R", "capacity": 0}, "capacity"),
        ("/api/teachers", {"name": ""}, "name"),
        ("/api/teachers", {"name": "Ok", "nickname": "x"}, "nickname"),
        ("/api/branches/1/closures", {"date": "2026-12-32"}, "date"),
        ("/api/calendar-feeds", {"owner_type": "parent", "owner_id": 1}, "owner_type"),
        ("/api/generation-runs", {"branch_id": 1, "series_id": 1}, "series_id"),
    ],
)
def test_bad_bodies_of_other_writes_are_422_naming_the_field(
    client: TestClient,
    world: World,
    committed_engine: Engine,
    path: str,
    body: dict[str, object],
    field: str,
) -> None:
    # A real session and series exist, so the id in the path is not the error.
    created = client.post(
        "/api/class-series", json=series_body(world), headers=bearer(world.admin)
    ).json()
    assert created["id"] == 1
    before = counts(committed_engine)
    response = client.post(path, json=body, headers=bearer(world.admin))
    assert field in _fields(response)
    assert counts(committed_engine) == before


def test_a_nul_byte_is_refused_not_a_500(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/class-sessions",
        json={
            "branch_id": world.branch_a,
            "teacher_id": world.teacher_1,
            "kind": "GROUP",
            "title": "bad\x00title",
            "date": "2026-12-03",
            "start_time": "10:00",
            "end_time": "11:00",
        },
        headers=bearer(world.admin),
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


def test_a_time_given_as_a_number_is_422_not_a_500(client: TestClient, world: World) -> None:
    """Found by schemathesis: 0 parsed as an aware time, compared with a naive one."""
    response = client.post(
        "/api/class-sessions",
        json={
            "branch_id": world.branch_a,
            "teacher_id": world.teacher_1,
            "student_id": world.student_1,
            "date": "2026-12-03",
            "start_time": 0,
            "end_time": "00:00",
        },
        headers=bearer(world.admin),
    )
    assert response.status_code == 422
    assert _fields(response) == {"start_time"}


def test_a_body_over_a_megabyte_is_refused_as_a_problem(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/teachers",
        content=b'{"name": "' + b"x" * 1_100_000 + b'"}',
        headers={**bearer(world.admin), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("path", "change", "field"),
    [
        ("/api/class-series", {"end_time": "20:00"}, "end_time"),
        ("/api/class-series", {"last_date": "2000-01-01", "first_date": "2000-01-02"}, "last_date"),
        ("/api/class-series", {"student_ids": [1]}, "student_ids"),
        ("/api/class-series", {"capacity": 3}, "capacity"),
        ("/api/class-series", {"kind": "GROUP", "student_id": None, "capacity": 2}, "title"),
        (
            "/api/class-series",
            {
                "kind": "GROUP",
                "student_id": None,
                "title": "M",
                "capacity": 1,
                "student_ids": [1, 2],
            },
            "student_ids",
        ),
        ("/api/class-sessions", {"kind": "GROUP", "title": "Maths"}, "student_id"),
        ("/api/class-sessions", {"student_ids": [1]}, "student_ids"),
        ("/api/class-sessions", {"end_time": "17:00"}, "end_time"),
    ],
)
def test_rules_over_several_fields_are_located_at_their_field(
    client: TestClient, world: World, path: str, change: dict[str, object], field: str
) -> None:
    if path == "/api/class-series":
        body = series_body(world, **change)
    else:
        body = {
            "branch_id": world.branch_a,
            "teacher_id": world.teacher_1,
            "student_id": world.student_1,
            "date": "2026-12-03",
            "start_time": "18:00",
            "end_time": "19:00",
        } | change
    response = client.post(path, json=body, headers=bearer(world.admin))
    errors = response.json()["errors"]
    assert [(e["field"], e["loc"]) for e in errors] == [(field, ["body", field])], errors
    assert _fields(response) == {field}


def test_an_enrolment_ending_before_it_starts_names_until_date(
    client: TestClient, world: World
) -> None:
    group = client.post(
        "/api/class-series",
        json=series_body(world, kind="GROUP", student_id=None, title="Club", capacity=4),
        headers=bearer(world.admin),
    )
    assert group.status_code == 201, group.text
    response = client.post(
        f"/api/class-series/{group.json()['id']}/enrolments",
        json={"student_id": 1, "from_date": "2026-12-10", "until_date": "2026-12-01"},
        headers=bearer(world.admin),
    )
    assert _fields(response) == {"until_date"}
