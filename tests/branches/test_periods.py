"""A branch's fixed periods (コマ): kept per branch, offered by the forms as one choice
that fills in the times, refused (by name) at another branch; free times stay possible."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from komawari.auth.enums import Role
from komawari.db.engine import session_scope
from komawari.scheduling import clock
from komawari.sessions.models import ClassSession
from tests.factories.world import World, bearer, book
from tests.web.pages import csrf_of, make_user, sign_in

DAY = clock.branch_today("Asia/Tokyo") + timedelta(days=9)
FIRST = {"name": "1限", "start_time": "16:00", "end_time": "17:20"}


def _add(client: TestClient, token: str, branch: int, body: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post(f"/api/branches/{branch}/periods", json=body, headers=bearer(token))


def test_periods_are_kept_in_time_order_and_named_once_per_branch(
    client: TestClient, world: World
) -> None:
    assert _add(client, world.staff_a, world.branch_a, FIRST | {"name": "2限",
                "start_time": "17:30", "end_time": "18:50"}).status_code == 201  # fmt: skip
    made = _add(client, world.staff_a, world.branch_a, FIRST)
    assert made.status_code == 201, made.text
    listed = client.get(f"/api/branches/{world.branch_a}/periods", headers=bearer(world.staff_a))
    assert [p["name"] for p in listed.json()["items"]] == ["1限", "2限"]
    again = _add(client, world.staff_a, world.branch_a, FIRST)
    assert again.status_code == 409
    assert "1限" in again.text
    assert _add(client, world.admin, world.branch_b, FIRST).status_code == 201  # another branch
    backwards = _add(
        client, world.admin, world.branch_a, FIRST | {"name": "x", "end_time": "15:00"}
    )
    assert backwards.status_code == 422
    assert "end_time" in backwards.text
    gone = client.delete(f"/api/branches/{world.branch_a}/periods/{made.json()['id']}",
                         headers=bearer(world.staff_a))  # fmt: skip
    assert gone.status_code == 204


def test_periods_as_each_role(client: TestClient, world: World) -> None:
    assert _add(client, world.staff_a, world.branch_b, FIRST).status_code == 404
    assert _add(client, world.teacher, world.branch_a, FIRST).status_code == 403
    theirs = _add(client, world.admin, world.branch_b, FIRST).json()["id"]
    url = f"/api/branches/{world.branch_b}/periods/{theirs}"
    assert client.delete(url, headers=bearer(world.staff_a)).status_code == 404


def test_the_booking_form_books_a_period_and_refuses_another_branchs(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    mine = _add(client, world.admin, world.branch_a, FIRST).json()["id"]
    theirs = _add(client, world.admin, world.branch_b, FIRST | {"name": "B2限"}).json()["id"]
    make_user(committed_engine, "clerk", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "clerk") == 303
    form = client.get("/sessions/new").text
    assert "1限 16:00-17:20 · Shibuya" in form
    assert "B2限" not in form  # another branch's
    base = {
        "csrf_token": csrf_of(form), "branch_id": world.branch_a, "teacher_id": world.teacher_1,
        "student_id": world.student_1, "date": str(DAY),
    }  # fmt: skip
    wrong = client.post("/sessions", data=base | {"period": theirs}, follow_redirects=False)
    assert wrong.status_code == 422
    assert "B2限 is a period of Osaka, not of Shibuya" in wrong.text
    made = client.post("/sessions", data=base | {"period": mine}, follow_redirects=False)
    assert made.status_code == 303, made.text
    with session_scope(committed_engine) as s:
        (row,) = s.scalars(select(ClassSession)).all()
        assert (row.start_time.isoformat(), row.end_time.isoformat()) == ("16:00:00", "17:20:00")
    free = client.post("/sessions", data=base | {"start_time": "19:00", "end_time": "19:45",
                       "student_id": world.student_2}, follow_redirects=False)  # fmt: skip
    assert free.status_code == 303  # free times stay possible


def test_the_day_grid_uses_the_periods_as_its_rows(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    """A branch with periods: the day's rows are labelled by period, and an empty period
    of a teacher books that period's times; a branch without keeps the hours."""
    _add(client, world.admin, world.branch_a, FIRST)
    _add(client, world.admin, world.branch_a, {"name": "2限", "start_time": "17:30",
                                               "end_time": "18:50"})  # fmt: skip
    pairs = ((world.branch_a, world.teacher_1, world.student_1),
             (world.branch_b, world.teacher_2, world.student_3))  # fmt: skip
    for branch, teacher, student in pairs:
        book(committed_engine, world, DAY, "16:00", "17:20", branch_id=branch,
             teacher_id=teacher, student_id=student)  # fmt: skip
    make_user(committed_engine, "clerk", Role.STAFF, branch_ids=[world.branch_a, world.branch_b])
    assert sign_in(client, "clerk") == 303
    day = client.get(f"/branches/{world.branch_a}/day", params={"date": str(DAY)}).text
    assert 'class="hour period"' in day
    dash = "\N{EN DASH}"
    assert f"<strong>1限</strong><br>16:00{dash}17:20" in day
    assert f"<strong>2限</strong><br>17:30{dash}18:50" in day
    assert "start_time=17:30&amp;end_time=18:50" in day, "an empty period books its times"
    assert "start_time=16:00&amp;end_time=17:00" not in day, "not the hours"
    other = client.get(f"/branches/{world.branch_b}/day", params={"date": str(DAY)}).text
    assert 'class="hour period"' not in other
    assert '<div class="hour" ' in other


def test_the_branch_week_can_have_the_periods_as_its_rows(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    """`?by=period`: a row per period, a lesson in the period it starts in (named with its
    teacher), the lessons at other times in a last row; a branch without periods keeps
    its teachers."""
    _add(client, world.admin, world.branch_a, FIRST)
    in_period = book(committed_engine, world, DAY, "16:30", "17:10")
    elsewhere = book(committed_engine, world, DAY, "20:00", "21:00", student_id=world.student_2)
    make_user(committed_engine, "clerk", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "clerk") == 303
    week = client.get(f"/branches/{world.branch_a}/week", params={"date": str(DAY)}).text
    assert 'id="by-period"' in week
    by_period = client.get(f"/branches/{world.branch_a}/week",
                           params={"date": str(DAY), "by": "period"}).text  # fmt: skip
    table = by_period[by_period.index('id="branch-week"') :]
    rows = table.split("<tr>")[2:]
    assert rows[0].startswith('<th scope="row">1限 16:00')
    assert f'href="/sessions/{in_period}"' in rows[0]
    assert "Other times" in rows[1]
    assert f'href="/sessions/{elsewhere}"' in rows[1]
    bad = client.get(f"/branches/{world.branch_a}/week", params={"by": "room"})
    assert bad.status_code == 422
