"""Deactivated teachers, students and rooms cannot be booked; their lessons stay."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient

from komawari.scheduling import timerules
from komawari.scheduling.timerules import local_instant
from tests.factories.world import World, bearer, next_weekday, one_off_body, series_body


def _add(client: TestClient, w: World, kind: str, name: str) -> int:
    response = client.post(f"/api/{kind}", json={"name": name}, headers=bearer(w.admin))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _one_off(w: World, **changes: object) -> dict[str, object]:
    when = {"date": next_weekday(2).isoformat(), "start_time": "10:00", "end_time": "11:00"}
    return one_off_body(w, **(when | changes))


def test_a_deactivated_teacher_keeps_their_lessons_and_gets_no_new_ones(
    client: TestClient, world: World
) -> None:
    admin = bearer(world.admin)
    kato = _add(client, world, "teachers", "Kato")
    booked = client.post(
        "/api/class-sessions", json=_one_off(world, teacher_id=kato), headers=admin
    )
    assert booked.status_code == 201, booked.text
    gone = client.post(f"/api/teachers/{kato}/deactivate", headers=admin)
    assert gone.status_code == 200
    assert gone.json()["active"] is False
    later = _one_off(world, teacher_id=kato, start_time="12:00", end_time="13:00")
    refused = client.post("/api/class-sessions", json=later, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "teacher_id"
    assert "is deactivated" in refused.json()["detail"]
    series = client.post(
        "/api/class-series", json=series_body(world, teacher_id=kato), headers=admin
    )
    assert series.status_code == 422
    assert series.json()["errors"][0]["field"] == "teacher_id"
    kept = client.get(f"/api/class-sessions/{booked.json()['id']}", headers=admin)
    assert kept.status_code == 200
    assert kept.json()["status"] == "CONFIRMED"


def test_a_deactivated_student_is_not_enrolled_and_a_room_not_booked(
    client: TestClient, world: World
) -> None:
    admin = bearer(world.admin)
    yui = _add(client, world, "students", "Yui")
    assert client.post(f"/api/students/{yui}/deactivate", headers=admin).status_code == 200
    group = client.post(
        "/api/class-series",
        json=series_body(
            world,
            kind="GROUP",
            student_id=None,
            title="Reading",
            capacity=3,
            student_ids=[world.student_1],
            weekdays=["sun"],
        ),
        headers=admin,
    )
    assert group.status_code == 201, group.text
    enrol = client.post(
        f"/api/class-series/{group.json()['id']}/enrolments",
        json={"student_id": yui, "from_date": date.today().isoformat()},
        headers=admin,
    )
    assert enrol.status_code == 422
    assert enrol.json()["errors"][0]["field"] == "student_id"
    room = client.post(
        "/api/rooms", json={"branch_id": world.branch_a, "name": "Annex", "capacity": 2},
        headers=admin,
    ).json()["id"]  # fmt: skip
    assert client.post(f"/api/rooms/{room}/deactivate", headers=admin).status_code == 200
    refused = client.post("/api/class-sessions", json=_one_off(world, room_id=room), headers=admin)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "room_id"


# Noon in Tokyo on each day of a week (Monday 7 December 2026 first), and the last second
# of a day there and the first of the next: the branches of the world are in Asia/Tokyo.
CLOCKS = [datetime(2026, 12, 7, 3, 0, tzinfo=UTC) + timedelta(days=d) for d in range(7)] + [
    datetime(2026, 12, 9, 14, 59, 59, tzinfo=UTC),
    datetime(2026, 12, 9, 15, 0, 0, tzinfo=UTC),
]


@pytest.mark.parametrize("clock", CLOCKS, ids=lambda c: c.strftime("%a-%H%M%S"))
def test_deactivation_waits_until_no_live_series_names_them(
    client: TestClient, world: World, clock: datetime
) -> None:
    admin = bearer(world.admin)
    with time_machine.travel(clock, tick=False) as traveller:
        today = timerules.today_in("Asia/Tokyo")
        ono = _add(client, world, "teachers", "Ono")
        body = series_body(world, teacher_id=ono, first_date=today.isoformat(), weekdays=[1])
        series = client.post("/api/class-series", json=body, headers=admin).json()["id"]
        refused = client.post(f"/api/teachers/{ono}/deactivate", headers=admin)
        assert refused.status_code == 409
        assert refused.json()["series_ids"] == [series]
        ended = client.post(
            f"/api/class-series/{series}/end",
            json={"last_date": today.isoformat()},
            headers=admin,
        )
        assert ended.status_code == 200, ended.text
        # The series still runs today at its branch: its teacher is still on it.
        still = client.post(f"/api/teachers/{ono}/deactivate", headers=admin)
        assert still.status_code == 409, still.text
        traveller.move_to(local_instant(today + timedelta(days=1), time(0, 0), "Asia/Tokyo"))
        assert client.post(f"/api/teachers/{ono}/deactivate", headers=admin).status_code == 200


@pytest.mark.parametrize("clock", CLOCKS[:7], ids=lambda c: c.strftime("%a"))
def test_a_series_ended_before_it_began_frees_its_teacher_at_once(
    client: TestClient, world: World, clock: datetime
) -> None:
    admin = bearer(world.admin)
    with time_machine.travel(clock, tick=False):
        today = timerules.today_in("Asia/Tokyo")
        ono = _add(client, world, "teachers", "Ono")
        later = (today + timedelta(days=3)).isoformat()
        body = series_body(world, teacher_id=ono, first_date=later)
        series = client.post("/api/class-series", json=body, headers=admin).json()["id"]
        ended = client.post(
            f"/api/class-series/{series}/end", json={"last_date": today.isoformat()},
            headers=admin,
        )  # fmt: skip
        assert ended.status_code == 200, ended.text
        assert client.post(f"/api/teachers/{ono}/deactivate", headers=admin).status_code == 200


def test_staff_rename_people_but_only_admins_deactivate_them(
    client: TestClient, world: World
) -> None:
    staff = bearer(world.staff_a)
    ito = _add(client, world, "teachers", "Ito")
    renamed = client.patch(f"/api/teachers/{ito}", json={"name": "Ito Ren"}, headers=staff)
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Ito Ren"
    _add(client, world, "teachers", "Abe")
    clash = client.patch(f"/api/teachers/{ito}", json={"name": "Abe"}, headers=staff)
    assert clash.status_code == 409
    assert client.post(f"/api/teachers/{ito}/deactivate", headers=staff).status_code == 403
    teacher = bearer(world.teacher)
    assert client.patch(
        f"/api/students/{world.student_1}", json={"name": "x"}, headers=teacher
    ).status_code in (403, 404)


def test_a_change_from_a_date_onto_a_deactivated_teacher_or_room_is_refused(
    client: TestClient, world: World
) -> None:
    admin = bearer(world.admin)
    kato = _add(client, world, "teachers", "Kato")
    assert client.post(f"/api/teachers/{kato}/deactivate", headers=admin).status_code == 200
    room = client.post(
        "/api/rooms", json={"branch_id": world.branch_a, "name": "A9", "capacity": 4}, headers=admin
    )
    assert room.status_code == 201, room.text
    room_id = room.json()["id"]
    assert client.post(f"/api/rooms/{room_id}/deactivate", headers=admin).status_code == 200
    made = client.post("/api/class-series", json=series_body(world), headers=admin)
    assert made.status_code == 201, made.text
    series_id = made.json()["id"]
    from_date = next_weekday(4, weeks=2).isoformat()
    for field, change in (("teacher_id", {"teacher_id": kato}), ("room_id", {"room_id": room_id})):
        refused = client.post(
            f"/api/class-series/{series_id}/change-from",
            json={"from_date": from_date, **change},
            headers=admin,
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == field
        assert "is deactivated" in refused.json()["detail"]
    kept = client.get(f"/api/class-series/{series_id}", headers=admin).json()
    assert (kept["status"], kept["last_date"]) == ("ACTIVE", None)
