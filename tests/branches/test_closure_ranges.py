"""Closing a branch on a range of days (the year-end holidays) in one request.

Lessons one-off at Shibuya (A) on three days in a row and the day after; a range closes
the three, leaves the fourth, and can be previewed first; as each role.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from komawari.auth.enums import Role
from komawari.branches.models import BranchClosure
from komawari.db.engine import session_scope
from komawari.sessions.models import ClassSession
from tests.factories.world import World, bearer, next_weekday, one_off_body
from tests.web.pages import csrf_of, make_user, sign_in

FIRST = next_weekday(1)  # a Monday
DAYS = [FIRST + timedelta(days=n) for n in range(4)]


@pytest.fixture
def lessons(client: TestClient, world: World) -> list[int]:
    made = []
    for day in DAYS:
        body = one_off_body(world, date=day.isoformat())
        answer = client.post("/api/class-sessions", json=body, headers=bearer(world.admin))
        assert answer.status_code == 201, answer.text
        made.append(int(answer.json()["id"]))
    return made


def _statuses(engine: Engine, ids: list[int]) -> list[str]:
    with session_scope(engine) as s:
        found = dict(s.execute(select(ClassSession.id, ClassSession.status).where(
            ClassSession.id.in_(ids))).all())  # fmt: skip
    return [found[i].value for i in ids]


def _closed(engine: Engine) -> int:
    with session_scope(engine) as s:
        return int(s.scalar(select(func.count()).select_from(BranchClosure)) or 0)


def _close(client: TestClient, token: str, branch: int, **body: object) -> tuple[int, dict]:  # type: ignore[type-arg]
    answer = client.post(f"/api/branches/{branch}/closures", json=body, headers=bearer(token))
    return answer.status_code, answer.json()


def test_a_range_closes_every_day_in_it_and_no_other(
    client: TestClient, world: World, committed_engine: Engine, lessons: list[int]
) -> None:
    status, body = _close(client, world.staff_a, world.branch_a, date=str(DAYS[0]),
                          until=str(DAYS[2]), reason="year-end")  # fmt: skip
    assert status == 201, body
    assert sorted(body["cancelled_session_ids"]) == sorted(lessons[:3])
    assert _statuses(committed_engine, lessons) == ["CANCELLED"] * 3 + ["CONFIRMED"]
    assert _closed(committed_engine) == 3


def test_the_preview_of_a_range_changes_nothing(
    client: TestClient, world: World, committed_engine: Engine, lessons: list[int]
) -> None:
    answer = client.post(
        f"/api/branches/{world.branch_a}/closures", params={"dry_run": "true"},
        json={"date": str(DAYS[1]), "until": str(DAYS[3])}, headers=bearer(world.admin),
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert [s["id"] for s in answer.json()["would_cancel"]] == lessons[1:]
    assert _statuses(committed_engine, lessons) == ["CONFIRMED"] * 4
    assert _closed(committed_engine) == 0


@pytest.mark.parametrize(
    ("until", "status", "words"),
    [(-1, 422, "until"), (366, 422, "366 days"), (2, 409, "already closed on")],
)
def test_a_wrong_range_says_why_and_closes_nothing(
    client: TestClient, world: World, committed_engine: Engine, lessons: list[int],
    until: int, status: int, words: str,
) -> None:  # fmt: skip
    assert _close(client, world.admin, world.branch_a, date=str(DAYS[2]))[0] == 201
    before = (_statuses(committed_engine, lessons), _closed(committed_engine))
    code, body = _close(client, world.admin, world.branch_a, date=str(DAYS[0]),
                        until=str(DAYS[0] + timedelta(days=until)))  # fmt: skip
    assert code == status, body
    assert words in str(body)
    assert (_statuses(committed_engine, lessons), _closed(committed_engine)) == before


def test_a_range_as_each_role(client: TestClient, world: World) -> None:
    body = {"date": str(DAYS[0]), "until": str(DAYS[1])}
    assert _close(client, world.staff_a, world.branch_b, **body)[0] == 404
    assert _close(client, world.teacher, world.branch_a, **body)[0] == 403
    assert _close(client, world.admin, world.branch_b, **body)[0] == 201


def test_the_closures_page_previews_and_closes_a_range(
    client: TestClient, world: World, committed_engine: Engine, lessons: list[int]
) -> None:
    make_user(committed_engine, "clerk", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "clerk") == 303
    query = {"date": str(DAYS[0]), "until": str(DAYS[2]), "reason": "year-end"}
    preview = client.get(f"/branches/{world.branch_a}/closures", params=query)
    assert preview.status_code == 200
    assert "3 lessons are cancelled" in preview.text
    done = client.post(f"/branches/{world.branch_a}/closures",
                       data={**query, "csrf_token": csrf_of(preview.text)},
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303, done.text
    assert _statuses(committed_engine, lessons) == ["CANCELLED"] * 3 + ["CONFIRMED"]
