"""/api/class-sessions, the branch-day schedule, closures, runs and the audit reports."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factories.world import World, bearer, next_weekday, one_off_body, series_body


def _one_off(w: World, **changes: object) -> dict[str, Any]:
    return one_off_body(w, **({"date": next_weekday(2).isoformat()} | changes))


def test_an_exact_duplicate_one_off_is_409_naming_the_lesson(
    client: TestClient, world: World
) -> None:
    first = client.post("/api/class-sessions", json=_one_off(world), headers=bearer(world.admin))
    assert first.status_code == 201
    assert first.headers["location"] == f"/api/class-sessions/{first.json()['id']}"
    again = client.post("/api/class-sessions", json=_one_off(world), headers=bearer(world.admin))
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/duplicate-session"
    assert again.json()["existing_session_id"] == first.json()["id"]


def test_an_overlap_is_conflicted_and_cancelling_the_blocker_confirms_it(
    client: TestClient, world: World
) -> None:
    admin = bearer(world.admin)
    blocker = client.post("/api/class-sessions", json=_one_off(world), headers=admin).json()
    later = client.post(
        "/api/class-sessions",
        json=_one_off(world, student_id=world.student_2, start_time="18:30", end_time="19:30"),
        headers=admin,
    ).json()
    assert later["status"] == "CONFLICTED"
    assert [c["session_id"] for c in later["conflicts_with"]] == [blocker["id"]]
    cancelled = client.post(
        f"/api/class-sessions/{blocker['id']}/cancel", json={"reason": "sick"}, headers=admin
    )
    assert cancelled.json()["status"] == "CANCELLED"
    again = client.get(f"/api/class-sessions/{later['id']}", headers=admin).json()
    assert again["status"] == "CONFIRMED"


def test_a_move_keeps_the_occurrence(client: TestClient, world: World) -> None:
    admin = bearer(world.admin)
    client.post("/api/class-series", json=series_body(world), headers=admin)
    row = client.get("/api/class-sessions?limit=1", headers=admin).json()["items"][0]
    moved = client.post(
        f"/api/class-sessions/{row['id']}/move",
        json={"start_time": "17:00", "reason": "earlier"},
        headers=admin,
    ).json()
    assert (moved["start_time"], moved["end_time"]) == ("17:00", "18:30")
    assert (moved["series_id"], moved["original_date"]) == (row["series_id"], row["original_date"])


def test_list_filters_and_cursor_pages(client: TestClient, world: World) -> None:
    admin = bearer(world.admin)
    client.post(
        "/api/class-series",
        json=series_body(world, weekdays=[1, 4], room_id=world.room_a),
        headers=admin,
    )
    client.post(  # same room, same time: teacher 2's sessions are CONFLICTED
        "/api/class-series",
        json=series_body(
            world, teacher_id=world.teacher_2, student_id=world.student_2, room_id=world.room_a
        ),
        headers=admin,
    )
    everything = client.get("/api/class-sessions?limit=500", headers=admin).json()["items"]
    keys = [(s["date"], s["start_time"], s["id"]) for s in everything]
    assert keys == sorted(keys)
    paged: list[dict[str, Any]] = []
    url = "/api/class-sessions?limit=3"
    while url:
        page = client.get(url, headers=admin).json()
        paged += page["items"]
        url = (
            f"/api/class-sessions?limit=3&cursor={page['next_cursor']}"
            if page["next_cursor"]
            else ""
        )
    assert [s["id"] for s in paged] == [s["id"] for s in everything]
    day = everything[0]["date"]
    on_day = client.get(f"/api/class-sessions?date={day}", headers=admin).json()["items"]
    assert on_day
    assert {s["date"] for s in on_day} == {day}
    ranged = client.get(f"/api/class-sessions?from={day}&to={day}", headers=admin).json()
    assert ranged["items"] == on_day
    by_teacher = client.get(
        f"/api/class-sessions?teacher_id={world.teacher_2}&status=CONFLICTED", headers=admin
    ).json()["items"]
    assert by_teacher
    assert {(s["teacher_id"], s["status"]) for s in by_teacher} == {(world.teacher_2, "CONFLICTED")}
    by_student = client.get(
        f"/api/class-sessions?student_id={world.student_1}&branch_id={world.branch_a}",
        headers=admin,
    ).json()["items"]
    assert by_student
    assert {s["student_id"] for s in by_student} == {world.student_1}


def test_the_branch_day_lists_teachers_with_sessions_in_time_order(
    client: TestClient, world: World
) -> None:
    admin = bearer(world.admin)
    day = next_weekday(2)
    for teacher, student, start, end in (
        (world.teacher_2, world.student_2, "19:00", "20:00"),
        (world.teacher_1, world.student_1, "18:00", "19:00"),
        (world.teacher_1, world.student_3, "16:00", "17:00"),
        (world.teacher_2, world.student_1, "18:30", "19:30"),  # student 1 is double-booked
    ):
        client.post(
            "/api/class-sessions",
            json=_one_off(
                world,
                teacher_id=teacher,
                student_id=student,
                start_time=start,
                end_time=end,
                date=day.isoformat(),
                room_id=world.room_a,
            ),
            headers=admin,
        )
    answer = client.get(f"/api/branches/{world.branch_a}/schedule?date={day}", headers=admin).json()
    assert answer["counts"] == {"total": 4, "confirmed": 3, "conflicted": 1, "cancelled": 0}
    assert [t["teacher_name"] for t in answer["teachers"]] == ["Sato", "Suzuki"]
    sato, suzuki = answer["teachers"]
    assert [s["start_time"] for s in sato["sessions"]] == ["16:00", "18:00"]
    assert [s["start_time"] for s in suzuki["sessions"]] == ["18:30", "19:00"]
    late = suzuki["sessions"][0]
    assert late["status"] == "CONFLICTED"
    booked_first, sato_18 = late["conflicts_with"]  # in booking order
    assert (booked_first["teacher_name"], booked_first["start_time"]) == ("Suzuki", "19:00")
    assert set(booked_first["shared"]) == {"teacher", "room"}
    assert (sato_18["teacher_name"], sato_18["start_time"]) == ("Sato", "18:00")
    assert set(sato_18["shared"]) == {"student", "room"}


def test_closures_cancel_the_day_and_reopening_restores_it(
    client: TestClient, world: World
) -> None:
    admin = bearer(world.admin)
    client.post("/api/class-series", json=series_body(world), headers=admin)
    day = next_weekday(4)
    url = f"/api/branches/{world.branch_a}/closures"
    preview = client.post(f"{url}?dry_run=true", json={"date": day.isoformat()}, headers=admin)
    assert preview.status_code == 200
    assert len(preview.json()["would_cancel"]) == 1
    closed = client.post(url, json={"date": day.isoformat(), "reason": "holiday"}, headers=admin)
    assert closed.status_code == 201
    assert len(closed.json()["cancelled_session_ids"]) == 1
    assert client.post(url, json={"date": day.isoformat()}, headers=admin).status_code == 409
    assert [c["date"] for c in client.get(url, headers=admin).json()["items"]] == [day.isoformat()]
    reopened = client.delete(f"{url}/{day}", headers=admin)
    assert reopened.json()["restored"] == 1


def test_runs_and_the_skipped_report(client: TestClient, world: World) -> None:
    admin = bearer(world.admin)
    made = client.post("/api/class-series", json=series_body(world), headers=admin).json()
    ran = client.post("/api/generation-runs", json={"series_id": made["id"]}, headers=admin)
    assert ran.status_code == 201
    assert ran.json()["created"] == 0
    runs = client.get("/api/generation-runs", headers=admin).json()["items"]
    assert [r["id"] for r in runs][:2] == [ran.json()["run_id"], made["generation"]["run_id"]]
    one = client.get(f"/api/generation-runs/{runs[0]['id']}", headers=admin).json()
    assert one["trigger"] == "api"
    report = client.get("/api/audit/skipped", headers=admin)
    assert report.status_code == 200
    assert set(report.json()) == {"total", "per_day", "per_series", "events"}


def test_people_and_rooms(client: TestClient, world: World) -> None:
    admin = bearer(world.admin)
    made = client.post("/api/teachers", json={"name": "Ito"}, headers=admin)
    assert made.status_code == 201
    clash = client.post("/api/teachers", json={"name": "Ito"}, headers=admin)
    assert clash.status_code == 409
    page = client.get("/api/teachers?limit=2", headers=admin).json()
    assert len(page["items"]) == 2
    rest = client.get(f"/api/teachers?cursor={page['next_cursor']}", headers=admin).json()
    assert [t["name"] for t in rest["items"]] == ["Ito"]
    room = client.post(
        "/api/rooms", json={"branch_id": world.branch_a, "name": "A2", "capacity": 6}, headers=admin
    )
    assert room.status_code == 201
    rooms = client.get(f"/api/rooms?branch_id={world.branch_a}", headers=admin).json()["items"]
    assert [r["name"] for r in rooms] == ["A1", "A2"]
