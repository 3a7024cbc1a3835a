"""The policy's answers over HTTP: hidden is missing (404), readable but not writable is 403."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories.world import World, bearer, series_body

MISSING = 9_000_000


def test_another_branchs_series_answers_exactly_as_a_missing_one(
    client: TestClient, world: World
) -> None:
    admin, staff = bearer(world.admin), bearer(world.staff_a)
    b_series = client.post(
        "/api/class-series",
        json=series_body(world, branch_id=world.branch_b, teacher_id=world.teacher_2),
        headers=admin,
    ).json()["id"]
    for action, body in (("pause", {}), ("end", {"last_date": "2030-01-01"}), ("resume", None)):
        kwargs = {"json": body} if body is not None else {}
        hidden = client.post(f"/api/class-series/{b_series}/{action}", headers=staff, **kwargs)
        missing = client.post(f"/api/class-series/{MISSING}/{action}", headers=staff, **kwargs)
        assert (hidden.status_code, missing.status_code) == (404, 404)
        assert hidden.json()["detail"] == f"there is no series number {b_series}"
        assert missing.json()["detail"] == f"there is no series number {MISSING}"


def test_a_teacher_reads_their_lesson_is_refused_its_change_and_never_sees_a_colleagues(
    client: TestClient, world: World
) -> None:
    admin, teacher = bearer(world.admin), bearer(world.teacher)
    client.post("/api/class-series", json=series_body(world), headers=admin)
    client.post(
        "/api/class-series",
        json=series_body(world, teacher_id=world.teacher_2, student_id=world.student_2),
        headers=admin,
    )
    sessions = client.get("/api/class-sessions", headers=admin).json()["items"]
    own = next(s["id"] for s in sessions if s["teacher_id"] == world.teacher_1)
    other = next(s["id"] for s in sessions if s["teacher_id"] == world.teacher_2)
    move = {"start_time": "07:00", "end_time": "08:00"}
    assert client.get(f"/api/class-sessions/{own}", headers=teacher).status_code == 200
    assert (
        client.post(f"/api/class-sessions/{own}/move", json=move, headers=teacher).status_code
        == 403
    )
    assert client.get(f"/api/class-sessions/{other}", headers=teacher).status_code == 404
    cancel = client.post(
        f"/api/class-sessions/{other}/cancel", json={"reason": "x"}, headers=teacher
    )
    assert cancel.status_code == 404
    assert client.get(f"/api/teachers/{world.teacher_1}", headers=teacher).status_code == 200
    assert client.get(f"/api/teachers/{world.teacher_2}", headers=teacher).status_code == 404
    listed = client.get(f"/api/class-sessions?teacher_id={world.teacher_2}", headers=teacher)
    assert listed.status_code == 404


def test_a_teacher_may_use_no_staff_route(client: TestClient, world: World) -> None:
    teacher = bearer(world.teacher)
    for path in (
        f"/api/class-series/{MISSING}",
        f"/api/branches/{world.branch_a}",
        f"/api/rooms/{world.room_a}",
        f"/api/students/{world.student_1}",
        f"/api/generation-runs/{MISSING}",
        "/api/audit/events",
    ):
        assert client.get(path, headers=teacher).status_code == 403, path
    generate = client.post(
        "/api/generation-runs", json={"branch_id": world.branch_a}, headers=teacher
    )
    assert generate.status_code == 403


def test_generating_another_branchs_series_is_404_and_a_branch_named_in_the_body_403(
    client: TestClient, world: World
) -> None:
    admin, staff = bearer(world.admin), bearer(world.staff_a)
    b_series = client.post(
        "/api/class-series",
        json=series_body(world, branch_id=world.branch_b, teacher_id=world.teacher_2),
        headers=admin,
    ).json()["id"]
    by_series = client.post("/api/generation-runs", json={"series_id": b_series}, headers=staff)
    assert by_series.status_code == 404
    by_branch = client.post(
        "/api/generation-runs", json={"branch_id": world.branch_b}, headers=staff
    )
    assert by_branch.status_code == 403
    everything = client.post("/api/generation-runs", json={}, headers=staff)
    assert everything.status_code == 403
    assert client.post("/api/generation-runs", json={}, headers=admin).status_code == 201
