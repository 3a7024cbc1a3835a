"""People and places from the pages: add, rename, deactivate (and who may)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from komawari.auth.enums import Role
from komawari.db.engine import session_scope
from komawari.people.models import Room, Teacher
from tests.factories.world import World, bearer, series_body
from tests.web.pages import csrf_of, make_user, sign_in


@pytest.fixture
def office(client: TestClient, world: World, committed_engine: Engine) -> TestClient:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303
    return client


def test_staff_add_and_rename_a_teacher_and_a_room_of_their_branch(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    page = office.get("/teachers")
    assert page.status_code == 200
    assert "Sato" in page.text
    token = csrf_of(page.text)
    assert office.post("/teachers", data={"csrf_token": token, "name": "Kato"}).status_code == 200
    bad = office.post("/teachers", data={"csrf_token": token, "name": "\x1b[2J"})
    assert bad.status_code == 422
    assert 'id="name-error"' in bad.text
    with session_scope(committed_engine) as s:
        kato = s.scalars(select(Teacher).where(Teacher.name == "Kato")).one().id
    renamed = office.post(f"/teachers/{kato}/rename", data={"csrf_token": token, "name": "Kato2"})
    assert renamed.status_code == 200
    taken = office.post(f"/teachers/{kato}/rename", data={"csrf_token": token, "name": "Sato"})
    assert taken.status_code == 409
    rooms = office.get("/rooms")
    assert "A1" in rooms.text
    assert "B1" not in rooms.text, "another branch's rooms are not listed"
    added = office.post("/rooms", data={"csrf_token": token, "branch_id": world.branch_a,
                                        "name": "A2", "capacity": 2})  # fmt: skip
    assert added.status_code == 200
    refused = office.post("/rooms", data={"csrf_token": token, "branch_id": world.branch_b,
                                          "name": "B2", "capacity": 2})  # fmt: skip
    assert refused.status_code == 403
    with session_scope(committed_engine) as s:
        assert s.scalars(select(Room.name).where(Room.name == "B2")).first() is None


def test_deactivation_is_refused_while_a_series_names_them_and_admin_only_for_people(
    office: TestClient, client: TestClient, world: World, committed_engine: Engine
) -> None:
    made = client.post("/api/class-series", json=series_body(world, room_id=world.room_a),
                       headers=bearer(world.admin))  # fmt: skip
    assert made.status_code == 201
    token = csrf_of(office.get("/rooms").text)
    busy = office.post(f"/rooms/{world.room_a}/deactivate", data={"csrf_token": token})
    assert busy.status_code == 409
    assert f"deactivate-{world.room_a}-error" in busy.text
    staff = office.post(f"/teachers/{world.teacher_2}/deactivate", data={"csrf_token": token})
    assert staff.status_code == 403
    client.cookies.clear()
    make_user(committed_engine, "root", Role.ADMIN)
    assert sign_in(client, "root") == 303
    token = csrf_of(client.get("/teachers").text)
    done = client.post(f"/teachers/{world.teacher_2}/deactivate", data={"csrf_token": token})
    assert done.status_code == 200
    assert "Deactivated" in done.text


def test_the_header_finds_a_teacher_a_student_or_a_room_by_name(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    make_user(committed_engine, "clerk", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "clerk") == 303
    assert 'action="/search"' in client.get(f"/branches/{world.branch_a}/day").text
    found = client.get("/search", params={"q": "SAT"}).text  # any case
    assert f'href="/teachers/{world.teacher_1}/week">Sato</a>' in found
    assert "Suzuki" not in found.split('id="results"')[1]
    assert (
        f'href="/students/{world.student_1}/week">Aoi</a>'
        in client.get("/search", params={"q": "ao"}).text
    )
    rooms = client.get("/search", params={"q": "1"}).text.split('id="results"')[1]
    assert "A1" in rooms
    assert "B1" not in rooms  # another branch's room
    # % and _ are letters here, not patterns.
    assert "Nothing called" in client.get("/search", params={"q": "%"}).text
    assert client.get("/search", params={"q": "x" * 101}).status_code == 422
