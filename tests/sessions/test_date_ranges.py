"""A range whose start lies after its end is bad input, named, not an empty page."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories.world import World, bearer


def test_from_after_to_is_422_naming_from(client: TestClient, world: World) -> None:
    url = "/api/class-sessions?from=2030-01-13&to=2030-01-07"
    response = client.get(url, headers=bearer(world.admin))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "from"
    same_day = client.get(
        "/api/class-sessions?from=2030-01-07&to=2030-01-07", headers=bearer(world.admin)
    )
    assert same_day.status_code == 200
