"""Calendar feeds: stable UIDs, the branch's zone, cancelled events, rotatable keys."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient
from icalendar import Calendar

from tests.factories.world import World, bearer, next_weekday, series_body


def _feed_url(client: TestClient, w: World, owner_type: str, owner_id: int) -> str:
    made = client.post(
        "/api/calendar-feeds",
        json={"owner_type": owner_type, "owner_id": owner_id},
        headers=bearer(w.admin),
    )
    assert made.status_code == 201
    return str(made.json()["url"])


def _events(client: TestClient, url: str) -> dict[str, object]:
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(response.content)
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")]
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def test_a_teacher_feed_has_one_event_per_session_with_stable_uids(
    client: TestClient, world: World
) -> None:
    admin = bearer(world.admin)
    series = client.post("/api/class-series", json=series_body(world), headers=admin).json()
    sessions = client.get(
        f"/api/class-sessions?teacher_id={world.teacher_1}&limit=500", headers=admin
    ).json()["items"]
    url = _feed_url(client, world, "teacher", world.teacher_1)
    events = _events(client, url)
    first = sessions[0]
    uid = f"series-{series['id']}-{first['original_date'].replace('-', '')}@komawari"
    assert set(events) == {
        f"series-{series['id']}-{s['original_date'].replace('-', '')}@komawari" for s in sessions
    }
    event = events[uid]
    start = event["DTSTART"]  # type: ignore[index]
    assert start.params["TZID"] == "Asia/Tokyo"
    assert start.dt == datetime.fromisoformat(f"{first['date']}T20:00").replace(
        tzinfo=start.dt.tzinfo
    )
    # Moved and cancelled, the occurrence keeps its UID; cancelled shows as such.
    client.post(
        f"/api/class-sessions/{first['id']}/move", json={"start_time": "19:00"}, headers=admin
    )
    client.post(f"/api/class-sessions/{first['id']}/cancel", json={"reason": "ill"}, headers=admin)
    after = _events(client, url)
    assert set(after) == set(events)
    assert str(after[uid]["STATUS"]) == "CANCELLED"  # type: ignore[index]
    assert after[uid]["DTSTART"].dt.hour == 19  # type: ignore[index]


def test_a_one_off_uses_its_session_id_and_the_branch_zone(
    client: TestClient, world: World
) -> None:
    admin = bearer(world.admin)
    ny = client.post(
        "/api/branches", json={"name": "New York", "time_zone": "America/New_York"}, headers=admin
    ).json()
    lesson = client.post(
        "/api/class-sessions",
        json={
            "branch_id": ny["id"],
            "teacher_id": world.teacher_2,
            "student_id": world.student_2,
            "date": next_weekday(2).isoformat(),
            "start_time": "09:00",
            "end_time": "10:00",
        },
        headers=admin,
    ).json()
    events = _events(client, _feed_url(client, world, "student", world.student_2))
    event = events[f"session-{lesson['id']}@komawari"]
    assert event["DTSTART"].params["TZID"] == "America/New_York"  # type: ignore[index]
    assert str(event["STATUS"]) == "CONFIRMED"  # type: ignore[index]


def test_a_group_lesson_is_in_each_students_feed(client: TestClient, world: World) -> None:
    client.post(
        "/api/class-series",
        json=series_body(
            world,
            kind="GROUP",
            student_id=None,
            title="Club",
            capacity=4,
            student_ids=[world.student_2, world.student_3],
            weekdays=["sat"],
        ),
        headers=bearer(world.admin),
    )
    events = _events(client, _feed_url(client, world, "student", world.student_3))
    assert events
    assert all("Club" in str(e["SUMMARY"]) for e in events.values())  # type: ignore[index]


def test_a_wrong_or_rotated_key_is_404(client: TestClient, world: World) -> None:
    old = _feed_url(client, world, "teacher", world.teacher_1)
    assert client.get(old).status_code == 200
    assert client.get(old.replace("key=", "key=x")).status_code == 404
    assert client.get(old.split("?")[0]).status_code == 404
    new = _feed_url(client, world, "teacher", world.teacher_1)
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    assert client.get(new.replace("teachers", "students")).status_code == 404


def test_a_teacher_may_rotate_only_their_own_feed(client: TestClient, world: World) -> None:
    own = client.post(
        "/api/calendar-feeds",
        json={"owner_type": "teacher", "owner_id": world.teacher_1},
        headers=bearer(world.teacher),
    )
    assert own.status_code == 201
    other = client.post(
        "/api/calendar-feeds",
        json={"owner_type": "teacher", "owner_id": world.teacher_2},
        headers=bearer(world.teacher),
    )
    assert other.status_code == 403
