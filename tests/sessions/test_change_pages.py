"""Booking a one-off and moving a lesson from the pages: an exact duplicate is named with
a link; a clash is booked and said; a move re-checks the clashes on both days."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from komawari.auth.enums import Role
from komawari.db.engine import session_scope
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from tests.factories.world import World, counts
from tests.web.pages import csrf_of, make_user, sign_in

DAY = date(2026, 12, 17)


@pytest.fixture
def office(client: TestClient, world: World, committed_engine: Engine) -> TestClient:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303
    return client


def _book(client: TestClient, w: World, **changes: object):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/sessions/new").text)
    data = {"csrf_token": token, "branch_id": w.branch_a, "teacher_id": w.teacher_1,
            "student_id": w.student_1, "date": str(DAY), "start_time": "18:00",
            "end_time": "19:00"} | changes  # fmt: skip
    return client.post("/sessions", data=data, follow_redirects=False)


def _status(engine: Engine, session_id: int) -> SessionStatus:
    with session_scope(engine) as s:
        return s.get_one(ClassSession, session_id).status


def test_a_one_off_is_booked_and_its_exact_duplicate_is_named_with_a_link(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    made = _book(office, world)
    assert made.status_code == 303
    first = made.headers["location"].split("?")[0]
    assert "The lesson is booked." in office.get(made.headers["location"]).text
    before = counts(committed_engine)
    again = _book(office, world)
    assert again.status_code == 409
    assert f'href="{first}"' in again.text
    assert counts(committed_engine) == before


def test_a_clashing_one_off_is_saved_only_when_booked_anyway(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    """The office's finding: a clashing one-off was saved first and warned about after.
    Now the form says what it would clash with, saves nothing, and asks to book anyway."""
    first = _book(office, world).headers["location"].split("?")[0]
    before = counts(committed_engine)
    clash = _book(office, world, student_id=world.student_2, start_time="18:30",
                  end_time="19:30")  # fmt: skip
    assert clash.status_code == 409
    assert "This booking would clash with:" in clash.text
    assert f'href="{first}"' in clash.text
    assert 'name="book_anyway"' in clash.text
    assert counts(committed_engine) == before
    anyway = _book(office, world, student_id=world.student_2, start_time="18:30",
                   end_time="19:30", book_anyway="1")  # fmt: skip
    assert anyway.status_code == 303
    page = office.get(anyway.headers["location"])
    assert "It clashes with a lesson booked earlier" in page.text


def test_the_booking_form_shows_the_verdict_before_saving(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    _book(office, world)
    before = counts(committed_engine)
    wanted = {"branch_id": world.branch_a, "teacher_id": world.teacher_1,
              "student_id": world.student_2, "date": str(DAY), "end_time": "19:30"}  # fmt: skip
    clash = office.get("/sessions/new", params={**wanted, "start_time": "18:30"})
    assert clash.status_code == 200
    assert "This booking would clash with:" in clash.text
    free = office.get("/sessions/new", params={**wanted, "start_time": "19:00"})
    assert "Free: no clash" in free.text  # 19:00 starts as the other ends: no clash
    assert counts(committed_engine) == before


def test_an_empty_hour_of_the_grid_opens_the_booking_form_filled_in(
    office: TestClient, world: World
) -> None:
    _book(office, world)
    day = office.get(f"/branches/{world.branch_a}/day", params={"date": str(DAY)}).text
    slot = (f'href="/sessions/new?branch_id={world.branch_a}&amp;teacher_id={world.teacher_1}'
            f'&amp;date={DAY}&amp;start_time=19:00&amp;end_time=20:00"')  # fmt: skip
    assert slot in day
    form = office.get("/sessions/new", params={"branch_id": world.branch_a,
                      "teacher_id": world.teacher_1, "date": str(DAY), "start_time": "19:00",
                      "end_time": "20:00"}).text  # fmt: skip
    assert f'<option value="{world.teacher_1}" selected>' in form
    assert 'value="19:00"' in form


def test_moving_the_blocker_away_clears_the_clash(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    blocker = int(_book(office, world).headers["location"].split("?")[0].rsplit("/", 1)[1])
    later = _book(office, world, student_id=world.student_2, start_time="18:30",
                  end_time="19:30", book_anyway="1")  # fmt: skip
    later_id = int(later.headers["location"].split("?")[0].rsplit("/", 1)[1])
    assert _status(committed_engine, later_id) == SessionStatus.CONFLICTED
    page = office.get(f"/sessions/{blocker}")
    moved = office.post(f"/sessions/{blocker}/move",
                        data={"csrf_token": csrf_of(page.text), "start_time": "16:00",
                              "end_time": "17:00"})  # fmt: skip
    assert moved.status_code == 200
    assert "The lesson is moved." in moved.text
    assert _status(committed_engine, later_id) == SessionStatus.CONFIRMED
    bad = office.post(f"/sessions/{blocker}/move",
                      data={"csrf_token": csrf_of(page.text), "start_time": "17:00",
                            "end_time": "16:00"})  # fmt: skip
    assert bad.status_code == 422
    assert 'id="end_time-error"' in bad.text
