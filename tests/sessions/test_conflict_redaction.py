"""A clash with a lesson the caller may not read shows its times and what it shares only."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from komawari.auth.enums import Role
from tests.factories.world import World, bearer, next_weekday
from tests.web.pages import make_user, sign_in

DAY = next_weekday(4)
SECRET = ("Riku", "B1")  # branch B's student and room, which staff of A may not read


def _book(client: TestClient, token: str, **body: object) -> Any:
    answer = client.post(
        "/api/class-sessions",
        json={"date": DAY.isoformat(), "start_time": "18:00", "end_time": "19:00", **body},
        headers=bearer(token),
    )
    return answer


def _clash(client: TestClient, w: World) -> tuple[int, int]:
    """Book branch B's lesson (Sato with Riku in B1), then A's overlapping one."""
    b = _book(
        client, w.admin, branch_id=w.branch_b, teacher_id=w.teacher_1,
        student_id=w.student_2, room_id=w.room_b,
    )  # fmt: skip
    a = _book(
        client, w.staff_a, branch_id=w.branch_a, teacher_id=w.teacher_1,
        student_id=w.student_1, start_time="18:30", end_time="19:30",
    )  # fmt: skip
    assert b.status_code == a.status_code == 201
    assert a.json()["status"] == "CONFLICTED"
    return b.json()["id"], a.json()["id"]


def _refs(client: TestClient, token: str, w: World) -> list[dict[str, Any]]:
    day = client.get(
        f"/api/branches/{w.branch_a}/schedule", params={"date": str(DAY)}, headers=bearer(token)
    ).json()
    return [ref for t in day["teachers"] for s in t["sessions"] for ref in s["conflicts_with"]]


def test_staff_see_another_branchs_lesson_as_times_and_shared_resources(
    client: TestClient, world: World
) -> None:
    _clash(client, world)
    (ref,) = _refs(client, world.staff_a, world)
    assert ref["hidden"] is True
    assert (ref["start_time"], ref["end_time"], ref["shared"]) == ("18:00", "19:00", ["teacher"])
    for name in ("session_id", "branch_id", "teacher_id", "teacher_name", "student_id"):
        assert ref[name] is None
    assert ref["student_name"] is ref["room_id"] is ref["status"] is None


def test_admins_still_see_every_detail_of_the_clash(client: TestClient, world: World) -> None:
    b_id, _ = _clash(client, world)
    (ref,) = _refs(client, world.admin, world)
    assert ref["hidden"] is False
    assert (ref["session_id"], ref["student_name"]) == (b_id, "Riku")


def test_the_series_dry_run_hides_the_other_branchs_lesson(
    client: TestClient, world: World
) -> None:
    _clash(client, world)
    body = {
        "branch_id": world.branch_a, "teacher_id": world.teacher_1,
        "student_id": world.student_3, "weekdays": [DAY.isoweekday()],
        "start_time": "18:15", "end_time": "18:45", "first_date": DAY.isoformat(),
        "last_date": DAY.isoformat(),
    }  # fmt: skip
    answer = client.post(
        "/api/class-series", params={"dry_run": "true"}, json=body, headers=bearer(world.staff_a)
    )
    assert answer.status_code == 200, answer.text
    (first,) = answer.json()["sessions"]
    assert sorted(r["hidden"] for r in first["conflicts_with"]) == [False, True]
    assert not any(secret in answer.text for secret in SECRET)


def test_a_duplicate_at_another_branch_is_409_without_its_id(
    client: TestClient, world: World
) -> None:
    b = _book(client, world.admin, branch_id=world.branch_b, teacher_id=world.teacher_1,
              student_id=world.student_2)  # fmt: skip
    refused = _book(client, world.staff_a, branch_id=world.branch_a,
                    teacher_id=world.teacher_1, student_id=world.student_2)  # fmt: skip
    assert refused.status_code == 409
    assert refused.json()["existing_session_id"] is None
    assert str(b.json()["id"]) not in refused.json()["detail"]
    as_admin = _book(client, world.admin, branch_id=world.branch_a,
                     teacher_id=world.teacher_1, student_id=world.student_2)  # fmt: skip
    assert as_admin.json()["existing_session_id"] == b.json()["id"]


def test_the_pages_hide_the_other_branchs_lesson(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    _, a_id = _clash(client, world)
    make_user(committed_engine, "clerk", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "clerk") == 303
    for path in (f"/branches/{world.branch_a}/day?date={DAY}", f"/sessions/{a_id}"):
        page = client.get(path)
        assert page.status_code == 200
        assert "18:00\u201319:00" in page.text  # the clash is shown, by its times
        assert not any(secret in page.text for secret in SECRET), path


def test_every_session_read_shows_the_clash_in_the_one_shape(
    client: TestClient, world: World
) -> None:
    """conflicts_with is a ConflictRef everywhere: create, read, list, move, the schedule and
    the closure preview; hidden for staff of A, whole for an admin."""
    b_id, a_id = _clash(client, world)
    schedule = _refs(client, world.staff_a, world)
    closures = f"/api/branches/{world.branch_a}/closures?dry_run=true"
    for token, whole in ((world.staff_a, False), (world.admin, True)):
        reads = [
            client.get(f"/api/class-sessions/{a_id}", headers=bearer(token)).json(),
            *client.get(
                f"/api/class-sessions?branch_id={world.branch_a}&date={DAY}", headers=bearer(token)
            ).json()["items"],
            client.post(
                f"/api/class-sessions/{a_id}/move", json={"room_id": None, "start_time": "18:30"},
                headers=bearer(token),
            ).json(),
            *client.post(
                closures, json={"date": str(DAY), "reason": "x"}, headers=bearer(token)
            ).json()["would_cancel"],
        ]  # fmt: skip
        for read in reads:
            (ref,) = read["conflicts_with"]
            assert set(ref) == set(schedule[0]), read
            assert ref["hidden"] is not whole
            assert ref["session_id"] == (b_id if whole else None)
            assert (ref["start_time"], ref["shared"]) == ("18:00", ["teacher"])
            assert not whole or ref["student_name"] == "Riku"
            assert whole or not any(secret in str(read) for secret in SECRET)
