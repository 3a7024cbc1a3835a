"""Dates out of bounds, control characters and unusable zones: 422 naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from komawari.db.engine import session_scope
from tests.factories.world import World, bearer, counts, one_off_body, series_body

ESCAPES = "\x1b]0;owned\x07\x1b[2J"


def _group(w: World, **changes: object) -> dict[str, Any]:
    body = one_off_body(w, kind="GROUP", title="Maths", student_ids=[w.student_1])
    del body["student_id"]
    return body | changes


def _errors(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return list(response.json()["errors"])


def _field(response: Any) -> str:
    errors = _errors(response)
    assert len(errors) == 1, errors
    return str(errors[0]["field"])


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/class-sessions", {"date": "9999-12-31"}, "date"),
        ("/api/class-sessions", {"date": "0001-01-01"}, "date"),
        ("/api/class-sessions", {"date": "1899-12-31"}, "date"),
        ("/api/class-series", {"first_date": "0001-01-01"}, "first_date"),
        ("/api/class-series", {"last_date": "2201-01-01"}, "last_date"),
        ("/api/class-sessions/1/move", {"date": "9999-12-31"}, "date"),
        ("/api/class-series/1/extend", {"last_date": "9999-12-31"}, "last_date"),
        ("/api/class-series/1/end", {"last_date": "2201-01-01"}, "last_date"),
        ("/api/class-series/1/change-from", {"from_date": "9999-01-01"}, "from_date"),
        ("/api/branches/1/closures", {"date": "9999-12-31"}, "date"),
    ],
)
def test_a_date_outside_1900_to_2200_is_422_on_every_write(
    client: TestClient,
    world: World,
    committed_engine: Engine,
    path: str,
    body: dict[str, object],
    field: str,
) -> None:
    admin = bearer(world.admin)
    assert client.post("/api/class-series", json=series_body(world), headers=admin).is_success
    if path == "/api/class-sessions":
        body = one_off_body(world, **body)
    elif path == "/api/class-series":
        body = series_body(world, **body)
    before = counts(committed_engine)
    response = client.post(path, json=body, headers=admin)
    assert _field(response) == field
    assert "outside the years 1900 to 2200" in response.json()["detail"]
    assert counts(committed_engine) == before


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("/api/class-sessions?date=9999-12-31", "date"),
        ("/api/class-sessions?from=0001-01-01", "from"),
        ("/api/class-sessions?to=2201-01-01", "to"),
        ("/api/branches/1/schedule?date=9999-12-31", "date"),
        ("/api/audit/events?since=0001-01-01T00:00:00", "since"),
        ("/api/audit/skipped?since=9999-12-31T23:59:59", "since"),
    ],
)
def test_a_date_outside_the_years_is_422_in_queries(
    client: TestClient, world: World, query: str, field: str
) -> None:
    assert _field(client.get(query, headers=bearer(world.admin))) == field


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/teachers", {"name": "\x1b"}, "name"),
        ("/api/teachers", {"name": "Sato\x85"}, "name"),
        ("/api/students", {"name": "\u200b\u200b"}, "name"),
        ("/api/students", {"name": "\u3000 \u2800"}, "name"),
        ("/api/rooms", {"branch_id": 1, "name": "A\x9b2", "capacity": 2}, "name"),
        ("/api/branches", {"name": "\ufeff"}, "name"),
        ("/api/teachers", {"name": "Sato", "email": "sato\x01@example.com"}, "email"),
        ("/api/class-sessions", "GROUP_TITLE", "title"),
        ("/api/class-series", "SERIES_TITLE", "title"),
        ("/api/class-sessions/1/cancel", {"reason": ESCAPES}, "reason"),
        ("/api/class-sessions/1/cancel", {"reason": "\u200b"}, "reason"),
        ("/api/class-sessions/1/move", {"start_time": "08:00", "reason": "a\tb"}, "reason"),
        ("/api/class-series/1/pause", {"reason": ESCAPES}, "reason"),
        ("/api/class-series/1/end", {"last_date": "2200-01-01", "reason": "\x85"}, "reason"),
        ("/api/branches/1/closures", {"date": "2026-12-29", "reason": ESCAPES}, "reason"),
    ],
)
def test_control_characters_and_invisible_names_are_422_naming_the_field(
    client: TestClient,
    world: World,
    committed_engine: Engine,
    path: str,
    body: Any,
    field: str,
) -> None:
    admin = bearer(world.admin)
    assert client.post("/api/class-series", json=series_body(world), headers=admin).is_success
    if body == "GROUP_TITLE":
        body = _group(world, title=f"Maths{ESCAPES}")
    elif body == "SERIES_TITLE":
        body = series_body(
            world, kind="GROUP", student_id=None, capacity=4, title="\u200b", student_ids=[]
        )
    before = counts(committed_engine)
    assert _field(client.post(path, json=body, headers=admin)) == field
    assert counts(committed_engine) == before


@pytest.mark.parametrize(
    "zone", ["posix/Asia/Tokyo", "right/Asia/Tokyo", "posixrules", "localtime", "Asia/Tokyo "]
)
def test_a_zone_postgresql_or_python_would_not_read_the_same_is_422(
    client: TestClient, world: World, committed_engine: Engine, zone: str
) -> None:
    response = client.post(
        "/api/branches", json={"name": "Kobe", "time_zone": zone}, headers=bearer(world.admin)
    )
    assert _field(response) == "time_zone"
    with session_scope(committed_engine) as s:
        assert s.scalar(text("SELECT count(*) FROM branches WHERE name = 'Kobe'")) == 0


def test_a_branch_without_a_zone_gets_the_configured_default(
    client: TestClient, world: World
) -> None:
    made = client.post("/api/branches", json={"name": "Kobe"}, headers=bearer(world.admin))
    assert made.status_code == 201, made.text
    assert made.json()["time_zone"] == "Asia/Tokyo"
    lesson = one_off_body(world, branch_id=made.json()["id"], teacher_id=world.teacher_2)
    assert client.post("/api/class-sessions", json=lesson, headers=bearer(world.admin)).is_success
