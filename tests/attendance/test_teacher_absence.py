"""A teacher who cannot come: the lesson needs a substitute (代講) until another teacher
takes it or the teacher can come after all; the grid and the lesson page say so."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from komawari.attendance.models import TeacherAbsence
from komawari.audit.models import AuditEvent
from komawari.auth.enums import Role
from komawari.db.engine import session_scope
from tests.factories.world import World, bearer, one_off_body
from tests.web.pages import csrf_of, make_user, sign_in


def _book(client: TestClient, world: World) -> dict[str, Any]:
    made = client.post(
        "/api/class-sessions", headers=bearer(world.staff_a), json=one_off_body(world)
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


def _away(client: TestClient, world: World, lesson: int, absent: bool, token: str = "") -> Any:
    return client.post(
        f"/api/class-sessions/{lesson}/teacher-absence",
        headers=bearer(token or world.staff_a),
        json={"absent": absent, "reason": "flu"},
    )


def _needs(client: TestClient, world: World, lesson: dict[str, Any]) -> bool:
    day = client.get(
        f"/api/branches/{world.branch_a}/schedule",
        params={"date": lesson["date"]},
        headers=bearer(world.staff_a),
    ).json()
    return next(
        e["needs_substitute"]
        for t in day["teachers"]
        for e in t["sessions"]
        if e["id"] == lesson["id"]
    )


def test_an_away_teacher_needs_a_substitute_until_one_takes_the_lesson(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    lesson = _book(client, world)
    assert not _needs(client, world, lesson)
    first = _away(client, world, lesson["id"], True)
    assert first.status_code == 200, first.text
    assert first.json()["needs_substitute"] is True
    assert _away(client, world, lesson["id"], True).status_code == 200
    with session_scope(committed_engine) as s:
        assert s.scalar(select(func.count()).select_from(TeacherAbsence)) == 1
        noted = s.scalar(select(func.count()).where(AuditEvent.action == "session.teacher-absent"))
        assert noted == 1, "recorded twice, audited once"
    assert _needs(client, world, lesson)
    moved = client.post(
        f"/api/class-sessions/{lesson['id']}/move",
        headers=bearer(world.staff_a),
        json={"teacher_id": world.teacher_2},
    )
    assert moved.status_code == 200, moved.text
    assert not _needs(client, world, lesson), "a substitute took it"
    client.post(
        f"/api/class-sessions/{lesson['id']}/move",
        headers=bearer(world.staff_a),
        json={"teacher_id": world.teacher_1},
    )
    assert _needs(client, world, lesson), "given back to the teacher who cannot come"
    assert _away(client, world, lesson["id"], False).json()["needs_substitute"] is False
    assert not _needs(client, world, lesson)


def test_a_cancelled_lesson_or_another_branchs_is_refused_and_nothing_changes(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    lesson = _book(client, world)
    client.post(
        f"/api/class-sessions/{lesson['id']}/cancel",
        headers=bearer(world.staff_a),
        json={"reason": "exam week"},
    )
    refused = _away(client, world, lesson["id"], True)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["code"] == "attendance.lesson-cancelled"
    other = client.post(
        "/api/class-sessions",
        headers=bearer(world.admin),
        json=one_off_body(world, branch_id=world.branch_b, room_id=None, start_time="10:00",
                          end_time="11:00"),
    ).json()  # fmt: skip
    assert _away(client, world, other["id"], True).status_code == 404
    with session_scope(committed_engine) as s:
        assert s.scalar(select(func.count()).select_from(TeacherAbsence)) == 0


def test_the_office_notes_it_on_the_lesson_page_and_the_grid_shows_it(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    lesson = _book(client, world)
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303
    page = client.get(f"/sessions/{lesson['id']}")
    assert 'id="teacher-away-button"' in page.text
    noted = client.post(
        f"/sessions/{lesson['id']}/teacher-absence",
        data={"csrf_token": csrf_of(page.text), "absent": "1", "reason": "flu"},
        follow_redirects=False,
    )
    assert noted.status_code == 303
    shown = client.get(noted.headers["location"]).text
    assert 'id="teacher-away"' in shown
    assert "flu" in shown
    day = client.get(f"/branches/{world.branch_a}/day", params={"date": lesson["date"]}).text
    assert f'id="needs-sub-{lesson["id"]}"' in day
    back = client.post(
        f"/sessions/{lesson['id']}/teacher-absence",
        data={"csrf_token": csrf_of(shown), "absent": "0"},
        follow_redirects=False,
    )
    assert back.status_code == 303
    day = client.get(f"/branches/{world.branch_a}/day", params={"date": lesson["date"]}).text
    assert f'id="needs-sub-{lesson["id"]}"' not in day
    ja = client.get(f"/sessions/{lesson['id']}", headers={"Accept-Language": "ja"}).text
    assert "代講" in ja
