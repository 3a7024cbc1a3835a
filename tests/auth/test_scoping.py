"""Branch scoping: a staff token of branch A walks every route against branch B's data.

The walk is built from the OpenAPI document, so a new route without a request here fails
the test instead of going unchecked.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from komawari.db.engine import session_scope
from tests.factories.world import World, bearer, next_weekday, series_body

B_MARK = "Osaka"  # branch B's name; no answer to a staff token of A may carry it


def _b_data(client: TestClient, w: World) -> dict[str, Any]:
    """Give branch B a series with sessions, a one-off, a closure and events."""
    admin = bearer(w.admin)
    series = client.post(
        "/api/class-series",
        json=series_body(w, branch_id=w.branch_b, teacher_id=w.teacher_2, room_id=w.room_b),
        headers=admin,
    ).json()
    day = next_weekday(3)
    one_off = client.post(
        "/api/class-sessions",
        json={
            "branch_id": w.branch_b,
            "teacher_id": w.teacher_2,
            "student_id": w.student_3,
            "date": day.isoformat(),
            "start_time": "10:00",
            "end_time": "11:00",
        },
        headers=admin,
    ).json()
    closed = next_weekday(5)
    client.post(
        f"/api/branches/{w.branch_b}/closures",
        json={"date": closed.isoformat(), "reason": "B only"},
        headers=admin,
    )
    period = client.post(
        f"/api/branches/{w.branch_b}/periods",
        json={"name": "B1限", "start_time": "16:00", "end_time": "17:20"},
        headers=admin,
    ).json()
    runs = client.get("/api/generation-runs", headers=admin).json()["items"]
    family = client.post(
        f"/api/students/{w.student_3}/contacts",
        json={"name": "B family", "relation": "mother", "email": "b-family@example.com"},
        headers=admin,
    ).json()
    return {
        "contact": family["id"],
        "period": period["id"],
        "series": series["id"],
        "session": one_off["id"],
        "day": day.isoformat(),
        "closed": closed.isoformat(),
        "run": runs[0]["id"],
    }


def _snapshot(engine: Engine, branch_id: int) -> str:
    """Return everything of a branch, to compare before and after the walk."""
    queries = {
        "branch": "SELECT * FROM branches WHERE id = :b",
        "closures": "SELECT * FROM branch_closures WHERE branch_id = :b ORDER BY id",
        "rooms": "SELECT * FROM rooms WHERE branch_id = :b ORDER BY id",
        "series": "SELECT * FROM class_series WHERE branch_id = :b ORDER BY id",
        "sessions": "SELECT * FROM class_sessions WHERE branch_id = :b ORDER BY id",
        "audit": "SELECT * FROM audit_events WHERE branch_id = :b ORDER BY id",
        "credit_policies": "SELECT * FROM credit_policies WHERE branch_id = :b ORDER BY id",
        "teacher_absences": "SELECT a.* FROM teacher_absences a JOIN class_sessions s"
        " ON s.id = a.session_id WHERE s.branch_id = :b ORDER BY a.id",
        "enrolments": "SELECT e.* FROM series_enrolments e JOIN class_series s"
        " ON s.id = e.series_id WHERE s.branch_id = :b ORDER BY e.id",
    }
    with session_scope(engine) as s:
        return json.dumps(
            {
                k: [dict(r._mapping) for r in s.execute(text(q), {"b": branch_id})]
                for k, q in queries.items()
            },
            default=str,
        )


def _leaks(value: Any, w: World, b: dict[str, Any]) -> list[str]:
    """Return what of branch B a response shows."""
    found = []
    if isinstance(value, dict):
        if value.get("branch_id") == w.branch_b:
            found.append(f"branch_id {w.branch_b} in {value}")
        if value.get("series_id") == b["series"]:
            found.append(f"series {b['series']} in {value}")
        for item in value.values():
            found += _leaks(item, w, b)
    elif isinstance(value, list):
        for item in value:
            found += _leaks(item, w, b)
    elif isinstance(value, str) and B_MARK in value:
        found.append(f"{B_MARK!r} in {value!r}")
    return found


def _requests(w: World, b: dict[str, Any]) -> dict[tuple[str, str], tuple[str, Any]]:
    """Return (method, path template) -> (URL aimed at branch B, JSON body)."""
    sb, ser, ses = w.branch_b, b["series"], b["session"]
    return {
        ("get", "/api/me"): ("/api/me", None),
        ("post", "/api/calendar-feeds"): (
            "/api/calendar-feeds",
            {"owner_type": "teacher", "owner_id": w.teacher_2},
        ),
        ("get", "/api/branches"): ("/api/branches", None),
        ("post", "/api/branches"): ("/api/branches", {"name": "Osaka 2"}),
        ("get", "/api/branches/{branch_id}"): (f"/api/branches/{sb}", None),
        ("get", "/api/branches/{branch_id}/clashes"): (f"/api/branches/{sb}/clashes", None),
        ("get", "/api/branches/{branch_id}/schedule"): (
            f"/api/branches/{sb}/schedule?date={b['day']}",
            None,
        ),
        ("get", "/api/branches/{branch_id}/closures"): (f"/api/branches/{sb}/closures", None),
        ("get", "/api/branches/{branch_id}/periods"): (f"/api/branches/{sb}/periods", None),
        ("post", "/api/branches/{branch_id}/periods"): (
            f"/api/branches/{sb}/periods",
            {"name": "1限", "start_time": "16:00", "end_time": "17:20"},
        ),
        ("delete", "/api/branches/{branch_id}/periods/{period_id}"): (
            f"/api/branches/{sb}/periods/{b['period']}",
            None,
        ),
        ("post", "/api/branches/{branch_id}/holidays"): (
            f"/api/branches/{sb}/holidays",
            {"closed": True},
        ),
        ("post", "/api/branches/{branch_id}/closures"): (
            f"/api/branches/{sb}/closures",
            {"date": b["day"]},
        ),
        ("delete", "/api/branches/{branch_id}/closures/{date}"): (
            f"/api/branches/{sb}/closures/{b['closed']}",
            None,
        ),
        ("get", "/api/teachers"): ("/api/teachers", None),
        ("post", "/api/teachers"): ("/api/teachers", {"name": "New teacher"}),
        ("get", "/api/teachers/{teacher_id}"): (f"/api/teachers/{w.teacher_2}", None),
        ("get", "/api/students"): ("/api/students", None),
        ("post", "/api/students"): ("/api/students", {"name": "New student"}),
        ("get", "/api/students/{student_id}"): (f"/api/students/{w.student_3}", None),
        ("get", "/api/rooms"): (f"/api/rooms?branch_id={sb}", None),
        ("post", "/api/rooms"): ("/api/rooms", {"branch_id": sb, "name": "B2", "capacity": 3}),
        ("get", "/api/rooms/{room_id}"): (f"/api/rooms/{w.room_b}", None),
        ("patch", "/api/teachers/{teacher_id}"): (
            f"/api/teachers/{w.teacher_2}",
            {"name": "Renamed teacher"},
        ),
        ("post", "/api/teachers/{teacher_id}/deactivate"): (
            f"/api/teachers/{w.teacher_2}/deactivate",
            None,
        ),
        ("patch", "/api/students/{student_id}"): (
            f"/api/students/{w.student_3}",
            {"name": "Renamed student"},
        ),
        ("post", "/api/students/{student_id}/deactivate"): (
            f"/api/students/{w.student_3}/deactivate",
            None,
        ),
        ("patch", "/api/rooms/{room_id}"): (f"/api/rooms/{w.room_b}", {"name": "B3"}),
        ("post", "/api/rooms/{room_id}/deactivate"): (f"/api/rooms/{w.room_b}/deactivate", None),
        ("get", "/api/class-series"): (f"/api/class-series?branch_id={sb}", None),
        ("post", "/api/class-series"): (
            "/api/class-series",
            series_body(w, branch_id=sb, student_id=w.student_2),
        ),
        ("get", "/api/class-series/{series_id}"): (f"/api/class-series/{ser}", None),
        ("post", "/api/class-series/{series_id}/extend"): (
            f"/api/class-series/{ser}/extend",
            {"last_date": None},
        ),
        ("post", "/api/class-series/{series_id}/pause"): (
            f"/api/class-series/{ser}/pause",
            {"cancel_future": True},
        ),
        ("post", "/api/class-series/{series_id}/resume"): (f"/api/class-series/{ser}/resume", None),
        ("post", "/api/class-series/{series_id}/end"): (
            f"/api/class-series/{ser}/end",
            {"last_date": b["day"]},
        ),
        ("post", "/api/class-series/{series_id}/change-from"): (
            f"/api/class-series/{ser}/change-from",
            {"from_date": b["day"], "start_time": "09:00", "end_time": "10:00"},
        ),
        ("post", "/api/class-series/{series_id}/enrolments"): (
            f"/api/class-series/{ser}/enrolments",
            {"student_id": w.student_1, "from_date": b["day"]},
        ),
        ("post", "/api/class-series/{series_id}/unenrol"): (
            f"/api/class-series/{ser}/unenrol",
            {"student_id": w.student_1, "from_date": b["day"]},
        ),
        ("get", "/api/class-sessions"): (f"/api/class-sessions?branch_id={sb}", None),
        ("post", "/api/class-sessions"): (
            "/api/class-sessions",
            {
                "branch_id": sb,
                "teacher_id": w.teacher_2,
                "student_id": w.student_2,
                "date": b["day"],
                "start_time": "12:00",
                "end_time": "13:00",
            },
        ),
        ("get", "/api/class-sessions/{session_id}"): (f"/api/class-sessions/{ses}", None),
        ("post", "/api/class-sessions/{session_id}/cancel"): (
            f"/api/class-sessions/{ses}/cancel",
            {"reason": "walk"},
        ),
        ("post", "/api/class-sessions/{session_id}/move"): (
            f"/api/class-sessions/{ses}/move",
            {"start_time": "15:00"},
        ),
        ("post", "/api/class-sessions/{session_id}/note"): (
            f"/api/class-sessions/{ses}/note",
            {"note": "walk"},
        ),
        ("post", "/api/class-sessions/{session_id}/restore"): (
            f"/api/class-sessions/{ses}/restore",
            {},
        ),
        ("get", "/api/class-sessions/{session_id}/free-teachers"): (
            f"/api/class-sessions/{ses}/free-teachers",
            None,
        ),
        ("get", "/api/class-sessions/{session_id}/free-rooms"): (
            f"/api/class-sessions/{ses}/free-rooms",
            None,
        ),
        ("post", "/api/class-sessions/{session_id}/attendance"): (
            f"/api/class-sessions/{ses}/attendance",
            {"marks": [{"student_id": w.student_2, "state": "present"}]},
        ),
        ("post", "/api/branches/{branch_id}/attendance"): (
            f"/api/branches/{sb}/attendance?date={b['day']}",
            {
                "lessons": [
                    {"session_id": ses, "marks": [{"student_id": w.student_3, "state": "present"}]}
                ]
            },
        ),
        ("get", "/api/students/{student_id}/credits"): (
            f"/api/students/{w.student_2}/credits",
            None,
        ),
        ("post", "/api/class-sessions/{session_id}/makeup-attendees"): (
            f"/api/class-sessions/{ses}/makeup-attendees",
            {"student_id": w.student_1, "credit_id": 1},
        ),
        ("post", "/api/class-sessions/{session_id}/teacher-absence"): (
            f"/api/class-sessions/{ses}/teacher-absence",
            {"absent": True},
        ),
        ("get", "/api/students/{student_id}/makeup-slots"): (
            f"/api/students/{w.student_2}/makeup-slots",
            None,
        ),
        ("get", "/api/branches/{branch_id}/credits"): (f"/api/branches/{sb}/credits", None),
        ("get", "/api/branches/{branch_id}/reports/attendance"): (
            f"/api/branches/{sb}/reports/attendance",
            None,
        ),
        ("get", "/api/branches/{branch_id}/reports/hours"): (
            f"/api/branches/{sb}/reports/hours",
            None,
        ),
        ("get", "/api/branches/{branch_id}/credit-policies"): (
            f"/api/branches/{sb}/credit-policies",
            None,
        ),
        ("post", "/api/branches/{branch_id}/credit-policies"): (
            f"/api/branches/{sb}/credit-policies",
            {"lesson_kind": "PRIVATE", "monthly_cap": 9},
        ),
        ("get", "/api/generation-runs"): ("/api/generation-runs", None),
        ("post", "/api/generation-runs"): ("/api/generation-runs", {"branch_id": sb}),
        ("get", "/api/generation-runs/{run_id}"): (f"/api/generation-runs/{b['run']}", None),
        ("post", "/api/branches/{branch_id}/reminder-time"): (
            f"/api/branches/{sb}/reminder-time",
            {"time": "19:30"},
        ),
        ("get", "/api/audit/events"): ("/api/audit/events", None),
        # the outbox is the operator's (admins), whatever the branch
        ("get", "/api/notices/outbox"): ("/api/notices/outbox", None),
        ("get", "/api/notices/messages"): ("/api/notices/messages?status=dead", None),
        ("post", "/api/notices/messages/{message_id}/send-again"): (
            "/api/notices/messages/1/send-again",
            None,
        ),
        ("get", "/api/audit/skipped"): (f"/api/audit/skipped?branch_id={sb}", None),
        # student 3 has lessons at B only: their family is B's
        ("get", "/api/students/{student_id}/contacts"): (
            f"/api/students/{w.student_3}/contacts",
            None,
        ),
        ("post", "/api/students/{student_id}/contacts"): (
            f"/api/students/{w.student_3}/contacts",
            {"name": "Walk", "relation": "father"},
        ),
        ("delete", "/api/students/{student_id}/contacts/{contact_id}"): (
            f"/api/students/{w.student_3}/contacts/{b['contact']}",
            None,
        ),
        ("get", "/api/contacts/{contact_id}"): (f"/api/contacts/{b['contact']}", None),
        ("patch", "/api/contacts/{contact_id}"): (
            f"/api/contacts/{b['contact']}",
            {"name": "Renamed family"},
        ),
        ("post", "/api/contacts/{contact_id}/line-code"): (
            f"/api/contacts/{b['contact']}/line-code",
            None,
        ),
        ("put", "/api/teachers/{teacher_id}/contact"): (
            f"/api/teachers/{w.teacher_2}/contact",
            {"name": "Suzuki"},
        ),
    }


def _api_operations(client: TestClient) -> set[tuple[str, str]]:
    paths = client.get("/api/openapi.json").json()["paths"]
    return {(m, p) for p, item in paths.items() if p.startswith("/api/") for m in item}


def _walk(client: TestClient, token: str, w: World, b: dict[str, Any]) -> dict[str, Any]:
    requests = _requests(w, b)
    assert _api_operations(client) == set(requests), "every /api route needs a request here"
    seen: dict[str, Any] = {}
    for (method, template), (url, body) in sorted(requests.items()):
        kwargs = {"json": body} if body is not None else {}
        response = client.request(method.upper(), url, headers=bearer(token), **kwargs)
        seen[f"{method.upper()} {template}"] = response
    return seen


# Reads of the whole school for its operator (admins): staff get 403, whatever the branch.
OPERATORS_ONLY = {"GET /api/notices/outbox", "GET /api/notices/messages"}


def test_a_staff_token_of_a_neither_sees_nor_changes_anything_of_b(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    b = _b_data(client, world)
    before = _snapshot(committed_engine, world.branch_b)
    answers = _walk(client, world.staff_a, world, b)
    problems = []
    for route, response in answers.items():
        method = route.split()[0]
        if method == "GET":
            ok = response.status_code in (200, 404) or (
                route in OPERATORS_ONLY and response.status_code == 403
            )
        else:
            ok = response.status_code in (403, 404) or route in {
                "POST /api/teachers",  # people are school-wide, not branch data
                "POST /api/students",
                "PATCH /api/teachers/{teacher_id}",
                "PATCH /api/students/{student_id}",
                "PUT /api/teachers/{teacher_id}/contact",  # a teacher's own, like the teacher
            }
        if not ok:
            problems.append(f"{route}: {response.status_code} {response.text[:200]}")
        if response.headers.get("content-type", "").endswith("json"):
            problems += [f"{route}: {leak}" for leak in _leaks(response.json(), world, b)]
    assert problems == []
    assert _snapshot(committed_engine, world.branch_b) == before
    # Branch B's objects are 404, to read or to write: their existence does not leak.
    # Naming branch B in a body is 403, whether it exists or not.
    assert answers["GET /api/class-series/{series_id}"].status_code == 404
    assert answers["GET /api/branches/{branch_id}/schedule"].status_code == 404
    assert answers["POST /api/class-series"].status_code == 403
    assert answers["POST /api/class-sessions/{session_id}/cancel"].status_code == 404


def test_the_walk_sees_branch_b_with_an_admin_token(client: TestClient, world: World) -> None:
    """The same walk with an admin token finds B everywhere: the detector works."""
    b = _b_data(client, world)
    answers = _walk(client, world.admin, world, b)
    leaking = {
        route
        for route, r in answers.items()
        if r.headers.get("content-type", "").endswith("json") and _leaks(r.json(), world, b)
    }
    assert {
        "GET /api/branches",
        "GET /api/class-series/{series_id}",
        "GET /api/class-sessions",
        "GET /api/branches/{branch_id}/schedule",
        "GET /api/audit/events",
        "GET /api/rooms/{room_id}",
    } <= leaking


@pytest.mark.parametrize("token_name", ["staff_a"])
def test_staff_still_see_and_change_their_own_branch(
    client: TestClient, world: World, token_name: str
) -> None:
    token = getattr(world, token_name)
    created = client.post("/api/class-series", json=series_body(world), headers=bearer(token))
    assert created.status_code == 201
    listed = client.get("/api/class-series", headers=bearer(token)).json()["items"]
    assert [s["id"] for s in listed] == [created.json()["id"]]
    assert client.get(f"/api/branches/{world.branch_a}", headers=bearer(token)).status_code == 200
