"""A branch closed on Japan's national holidays: a setting, off by default, previewed
first; on, each holiday of the next two years is a closure and its lessons are cancelled;
off, those days reopen and their lessons come back; days closed by hand stay closed."""

from __future__ import annotations

from datetime import date, timedelta

import jpholiday
import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import Engine, select

from komawari.branches import holiday_names
from komawari.branches.models import BranchClosure
from komawari.db.engine import session_scope
from komawari.scheduling import clock
from komawari.sessions.models import ClassSession
from tests.factories.world import World, bearer, one_off_body

TODAY = clock.branch_today("Asia/Tokyo")
HOLIDAY, NAME = jpholiday.between(TODAY + timedelta(days=1), TODAY + timedelta(days=400))[0]


def _workday_after(day: date) -> date:
    d = day + timedelta(days=1)
    while jpholiday.is_holiday(d):
        d += timedelta(days=1)
    return d


@pytest.fixture
def lessons(client: TestClient, world: World) -> tuple[int, int]:
    """A lesson on the next holiday and one on the working day after it."""
    made = []
    for day in (HOLIDAY, _workday_after(HOLIDAY)):
        body = one_off_body(world, date=day.isoformat())
        answer = client.post("/api/class-sessions", json=body, headers=bearer(world.admin))
        assert answer.status_code == 201, answer.text
        made.append(int(answer.json()["id"]))
    return made[0], made[1]


def _set(client: TestClient, token: str, branch: int, closed: bool, *, dry: bool = False):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/branches/{branch}/holidays",
        params={"dry_run": "true"} if dry else {},
        json={"closed": closed},
        headers=bearer(token),
    )


def _status(engine: Engine, sid: int) -> str:
    with session_scope(engine) as s:
        return s.get_one(ClassSession, sid).status.value


def _holiday_closures(engine: Engine) -> list[date]:
    with session_scope(engine) as s:
        return list(s.scalars(select(BranchClosure.date).where(BranchClosure.holiday)))


def test_the_preview_names_the_holidays_and_the_lessons_and_changes_nothing(
    client: TestClient, world: World, committed_engine: Engine, lessons: tuple[int, int]
) -> None:
    answer = _set(client, world.staff_a, world.branch_a, True, dry=True)
    assert answer.status_code == 200, answer.text
    days = {d["date"]: d["name"] for d in answer.json()["days"]}
    assert days[HOLIDAY.isoformat()] == NAME
    assert all(date.fromisoformat(d) <= TODAY + timedelta(days=730) for d in days)
    assert [s["id"] for s in answer.json()["sessions"]] == [lessons[0]]
    assert _status(committed_engine, lessons[0]) == "CONFIRMED"
    assert _holiday_closures(committed_engine) == []


def test_on_closes_the_holidays_and_off_reopens_them_only(
    client: TestClient, world: World, committed_engine: Engine, lessons: tuple[int, int]
) -> None:
    by_hand = _workday_after(HOLIDAY) + timedelta(days=1)
    closed = client.post(f"/api/branches/{world.branch_a}/closures",
                         json={"date": str(by_hand), "reason": "staff day"},
                         headers=bearer(world.admin))  # fmt: skip
    assert closed.status_code == 201
    on = _set(client, world.staff_a, world.branch_a, True)
    assert on.status_code == 200, on.text
    assert on.json()["closed_on_holidays"] is True
    assert (_status(committed_engine, lessons[0]), _status(committed_engine, lessons[1])) == (
        "CANCELLED",
        "CONFIRMED",
    )
    assert HOLIDAY in _holiday_closures(committed_engine)
    branch = client.get(f"/api/branches/{world.branch_a}", headers=bearer(world.admin))
    assert branch.json()["closed_on_holidays"] is True
    again = _set(client, world.staff_a, world.branch_a, True)
    assert again.status_code == 422
    assert "already" in again.text
    off = _set(client, world.staff_a, world.branch_a, False)
    assert off.status_code == 200, off.text
    assert _status(committed_engine, lessons[0]) == "CONFIRMED"
    assert _holiday_closures(committed_engine) == []
    with session_scope(committed_engine) as s:
        kept = s.scalars(select(BranchClosure.date)).all()
    assert kept == [by_hand]  # closed by hand: not the setting's to reopen


def test_the_holiday_setting_as_each_role(client: TestClient, world: World) -> None:
    assert _set(client, world.staff_a, world.branch_b, True).status_code == 404
    assert _set(client, world.teacher, world.branch_a, True).status_code == 403
    assert _set(client, world.admin, world.branch_b, True).status_code == 200


def test_the_closures_page_previews_the_holidays_then_closes_them(
    client: TestClient, world: World, committed_engine: Engine, lessons: tuple[int, int]
) -> None:
    from komawari.auth.enums import Role
    from tests.web.pages import csrf_of, make_user, sign_in

    make_user(committed_engine, "clerk", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "clerk") == 303
    page = client.get(f"/branches/{world.branch_a}/closures")
    assert "This branch is open on national holidays." in page.text
    preview = client.get(f"/branches/{world.branch_a}/closures", params={"holidays": "on"})
    assert str(escape(holiday_names.in_language(NAME, "en"))) in preview.text, "in English"
    assert f'href="/sessions/{lessons[0]}"' in preview.text
    assert _status(committed_engine, lessons[0]) == "CONFIRMED"
    done = client.post(f"/branches/{world.branch_a}/holidays",
                       data={"csrf_token": csrf_of(preview.text), "closed": "on"},
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    assert _status(committed_engine, lessons[0]) == "CANCELLED"
    assert "is closed on Japan" in client.get(done.headers["location"]).text
