"""Changing a series from its pages: the confirmation says exactly what will happen, and
the change then does exactly that."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from komawari.auth.enums import Role
from komawari.db.engine import session_scope
from komawari.series.enums import SeriesStatus
from komawari.series.models import ClassSeries
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from tests.factories.world import World, bearer, next_weekday, series_body
from tests.web.pages import csrf_of, make_user, sign_in


@pytest.fixture
def office(client: TestClient, world: World, committed_engine: Engine) -> TestClient:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303
    return client


def _series(client: TestClient, w: World, **changes: object) -> int:
    made = client.post("/api/class-series", json=series_body(w, **changes),
                       headers=bearer(w.admin))  # fmt: skip
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _statuses(engine: Engine, series_id: int) -> dict[SessionStatus, int]:
    with session_scope(engine) as s:
        rows = s.execute(
            select(ClassSession.status, func.count())
            .where(ClassSession.series_id == series_id)
            .group_by(ClassSession.status)
        ).all()
    return {row[0]: row[1] for row in rows}


def _items(html: str, list_id: str) -> int:
    found = re.search(rf'<ul id="{list_id}">(.*?)</ul>', html, flags=re.S)
    return 0 if found is None else found.group(1).count("<li>")


def test_pausing_with_cancel_shows_the_lessons_it_cancels_then_cancels_exactly_those(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    series = _series(office, world)
    live = _statuses(committed_engine, series)[SessionStatus.CONFIRMED]
    page = office.get(f"/series/{series}/pause", params={"cancel_future": "1", "reason": "break"})
    assert page.status_code == 200
    shown = _items(page.text, "cancelled")
    assert shown > 0
    assert _statuses(committed_engine, series) == {SessionStatus.CONFIRMED: live}, "nothing yet"
    done = office.post(
        f"/series/{series}/pause",
        data={"csrf_token": csrf_of(page.text), "cancel_future": "1", "reason": "break"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert _statuses(committed_engine, series).get(SessionStatus.CANCELLED, 0) == shown
    with session_scope(committed_engine) as s:
        assert s.get_one(ClassSeries, series).status == SeriesStatus.PAUSED


def test_ending_a_blocker_shows_the_clashes_that_clear(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    blocker = _series(office, world)
    blocked = _series(office, world, student_id=world.student_2, start_time="21:00",
                      end_time="22:00")  # fmt: skip
    conflicted = _statuses(committed_engine, blocked)[SessionStatus.CONFLICTED]
    assert conflicted > 0
    first = next_weekday(4, weeks=0)
    page = office.get(
        f"/series/{blocker}/end", params={"last_date": str(first - timedelta(days=1))}
    )
    assert page.status_code == 200
    assert _items(page.text, "clashes-clear") == conflicted
    assert (
        _items(page.text, "cancelled")
        == _statuses(committed_engine, blocker)[SessionStatus.CONFIRMED]
    )
    assert _statuses(committed_engine, blocked)[SessionStatus.CONFLICTED] == conflicted


def test_a_change_the_series_refuses_is_explained_before_confirming(
    office: TestClient, world: World
) -> None:
    series = _series(office, world)
    page = office.get(f"/series/{series}/resume")
    assert page.status_code == 200
    assert "this series is active and not on a break" in page.text
    refused = office.post(f"/series/{series}/resume", data={"csrf_token": csrf_of(page.text)})
    assert refused.status_code == 422


def test_end_needs_its_last_date_named_next_to_the_field(office: TestClient, world: World) -> None:
    series = _series(office, world)
    page = office.get(f"/series/{series}/end")
    answer = office.post(f"/series/{series}/end", data={"csrf_token": csrf_of(page.text)})
    assert answer.status_code == 422
    assert 'id="last_date-error"' in answer.text


def test_another_branchs_series_cannot_be_changed(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    theirs = _series(office, world, branch_id=world.branch_b, teacher_id=world.teacher_2,
                     student_id=world.student_3)  # fmt: skip
    assert office.get(f"/series/{theirs}/pause").status_code == 404
    token = csrf_of(office.get("/series").text)
    assert office.post(f"/series/{theirs}/pause", data={"csrf_token": token}).status_code == 404
    with session_scope(committed_engine) as s:
        assert s.get_one(ClassSeries, theirs).status == SeriesStatus.ACTIVE


def test_changing_from_a_date_shows_the_lessons_cancelled_and_made_then_does_it(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    series = _series(office, world)
    first = next_weekday(4, weeks=0)
    change = {"from_date": str(first + timedelta(weeks=2)), "start_time": "18:00",
              "end_time": "19:30"}  # fmt: skip
    page = office.get(f"/series/{series}/change-from", params=change)
    assert page.status_code == 200
    cancelled, made = _items(page.text, "cancelled"), _items(page.text, "created")
    assert cancelled > 0
    assert made == cancelled, "the same Thursdays, at the new time"
    assert "18:00" in page.text.split('id="created"')[1]
    done = office.post(f"/series/{series}/change-from",
                       data={"csrf_token": csrf_of(page.text), **change},
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    new_id = int(done.headers["location"].split("?")[0].rsplit("/", 1)[1])
    assert new_id != series
    assert _statuses(committed_engine, series).get(SessionStatus.CANCELLED, 0) == cancelled
    assert _statuses(committed_engine, new_id)[SessionStatus.CONFIRMED] == made
