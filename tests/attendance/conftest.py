"""Fixtures of the attendance tests: a student's make-up credit at a branch with periods."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories.world import World, bearer, one_off_body

PERIODS = (("1限", "16:00", "17:00"), ("2限", "17:00", "18:00"), ("3限", "18:00", "19:00"))


def _post(client: TestClient, world: World, path: str, body: dict[str, Any]) -> Any:
    answer = client.post(path, headers=bearer(world.admin), json=body)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def _book(client: TestClient, world: World, **changes: Any) -> dict[str, Any]:
    return dict(_post(client, world, "/api/class-sessions", one_off_body(world, **changes)))


@pytest.fixture
def credit(client: TestClient, world: World) -> dict[str, Any]:
    """Branch A has three periods; student 1 missed (with notice) Wednesday's 18:00 with
    teacher 1 in room A1, which earned a credit; teacher 2 also teaches at branch A."""
    for name, start, end in PERIODS:
        _post(
            client,
            world,
            f"/api/branches/{world.branch_a}/periods",
            {"name": name, "start_time": start, "end_time": end},
        )
    absence = _book(client, world, room_id=world.room_a)
    marks = {"marks": [{"student_id": world.student_1, "state": "absent_notified"}]}
    done = _post(client, world, f"/api/class-sessions/{absence['id']}/attendance", marks)
    far = (date.fromisoformat(absence["date"]) + timedelta(days=60)).isoformat()
    _book(client, world, teacher_id=world.teacher_2, student_id=world.student_3, date=far)
    return {"id": done["credits_issued"][0], "absence": absence}
