"""The make-up (振替) pages: staff open a student's slots, book one with one click (the
credit used in the booking's transaction), and the day grid and the lesson page show the
lesson as a make-up with a link to the lesson it makes up."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from komawari.auth.enums import Role
from tests.attendance.conftest import _book, _post
from tests.factories.world import World, bearer, one_off_body
from tests.web.pages import csrf_of, make_user, sign_in


@pytest.fixture
def office(client: TestClient, world: World, committed_engine: Engine) -> TestClient:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303
    return client


def _fields(html: str, row: str) -> dict[str, str]:
    form = html[html.index(f'id="{row}"') :]
    form = form[: form.index("</form>")]
    return dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form))


def test_staff_book_a_make_up_from_the_slots_and_see_it_on_the_grid(
    office: TestClient, world: World, credit: dict[str, Any]
) -> None:
    page = office.get(f"/students/{world.student_1}/makeup")
    assert page.status_code == 200, page.text
    assert 'id="slot-1"' in page.text
    fields = _fields(page.text, "slot-1")
    assert fields["credit_id"] == str(credit["id"])
    booked = office.post("/sessions", data=fields, follow_redirects=False)
    assert booked.status_code == 303, booked.text
    lesson = office.get(booked.headers["location"])
    assert 'id="makeup-for"' in lesson.text
    assert f'href="/sessions/{credit["absence"]["id"]}"' in lesson.text
    day = office.get(f"/branches/{world.branch_a}/day", params={"date": fields["date"]})
    made = int(booked.headers["location"].split("/")[2].split("?")[0])
    block = day.text[day.text.index(f'id="lesson-{made}"') :]
    block = block[: block.index("</article>")]
    assert f'id="makeup-{made}"' in block
    assert "Make-up" in block
    assert f'href="/sessions/{credit["absence"]["id"]}"' in block
    again = office.get(f"/students/{world.student_1}/makeup")
    assert 'id="no-credit"' in again.text, "the credit is used"
    schedule = office.get(
        f"/api/branches/{world.branch_a}/schedule",
        params={"date": fields["date"]},
        headers=bearer(world.staff_a),
    ).json()
    entries = {e["id"]: e for t in schedule["teachers"] for e in t["sessions"]}
    assert entries[made]["makeup"] is True
    assert entries[made]["makeup_for_id"] == credit["absence"]["id"]
    others = [e for i, e in entries.items() if i != made]
    assert all(not e["makeup"] and e["makeup_for_id"] is None for e in others)


def test_a_cancelled_make_up_gives_the_credit_back_and_is_no_longer_marked(
    office: TestClient, world: World, credit: dict[str, Any]
) -> None:
    fields = _fields(office.get(f"/students/{world.student_1}/makeup").text, "slot-1")
    booked = office.post("/sessions", data=fields, follow_redirects=False)
    made = int(booked.headers["location"].split("/")[2].split("?")[0])
    page = office.get(f"/sessions/{made}")
    cancel = office.post(
        f"/sessions/{made}/cancel",
        data={"csrf_token": csrf_of(page.text), "reason": "teacher ill"},
        follow_redirects=False,
    )
    assert cancel.status_code == 303, cancel.text
    assert 'id="makeup-for"' not in office.get(f"/sessions/{made}").text
    assert 'id="slot-1"' in office.get(f"/students/{world.student_1}/makeup").text


def test_japanese_words_and_bad_input_on_the_slots_page(
    office: TestClient, world: World, credit: dict[str, Any]
) -> None:
    ja = office.get(f"/students/{world.student_1}/makeup", headers={"Accept-Language": "ja"})
    assert "振替" in ja.text
    assert "Make-up slots" not in ja.text
    for params, field in (({"weeks": "abc"}, "weeks"), ({"weeks": "13"}, "weeks"),
                          ({"credit": "x"}, "credit"), ({"credit": "999"}, "credit")):  # fmt: skip
        bad = office.get(f"/students/{world.student_1}/makeup", params=params)
        assert bad.status_code == 422, (params, bad.status_code)
        assert 'id="slot-1"' not in bad.text
        assert f'id="{field}-error"' in bad.text or "problem" in bad.text, params
    assert date.today()  # the fixture's lesson is in the future


def test_a_student_with_two_credits_chooses_which_one_the_slots_are_for(
    office: TestClient, world: World, credit: dict[str, Any]
) -> None:
    other = office.post(
        "/api/class-sessions",
        headers=bearer(world.staff_a),
        json={**_later_lesson(world), "room_id": world.room_a},
    ).json()
    marks = {"marks": [{"student_id": world.student_1, "state": "absent_notified"}]}
    second = office.post(
        f"/api/class-sessions/{other['id']}/attendance", headers=bearer(world.staff_a), json=marks
    ).json()["credits_issued"][0]
    page = office.get(f"/students/{world.student_1}/makeup")
    assert 'id="credits"' in page.text
    assert f"?credit={second}&amp;weeks=4" in page.text, "the other credit is a link"
    chosen = office.get(f"/students/{world.student_1}/makeup", params={"credit": second})
    assert _fields(chosen.text, "slot-1")["credit_id"] == str(second)


def _later_lesson(world: World) -> dict[str, Any]:
    from datetime import timedelta

    from tests.factories.world import one_off_body

    day = date.fromisoformat(one_off_body(world)["date"]) + timedelta(days=7)
    return one_off_body(world, date=day.isoformat())


def test_a_viewer_who_may_not_read_the_missed_lesson_sees_a_make_up_without_its_link(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    """Teacher 1 teaches a make-up of a lesson the student missed with teacher 2: the
    lesson's page says it is a make-up, without a link to (or the time of) teacher 2's
    lesson; the office sees the link."""
    missed = _book(client, world, teacher_id=world.teacher_2)["id"]
    marks = {"marks": [{"student_id": world.student_1, "state": "absent_notified"}]}
    credit = _post(client, world, f"/api/class-sessions/{missed}/attendance", marks)
    day = date.fromisoformat(one_off_body(world)["date"]) + timedelta(days=1)
    made = _book(client, world, date=day.isoformat(), start_time="16:00", end_time="17:00",
                 credit_id=credit["credits_issued"][0])["id"]  # fmt: skip
    make_user(committed_engine, "sato", Role.TEACHER, teacher_id=world.teacher_1)
    assert sign_in(client, "sato") == 303
    assert client.get(f"/sessions/{missed}").status_code == 404, "not the teacher's lesson"
    page = client.get(f"/sessions/{made}")
    assert page.status_code == 200
    assert 'id="makeup-for"' in page.text
    assert f'href="/sessions/{missed}"' not in page.text
    assert "Booked with a make-up credit" in page.text
    week = client.get(f"/teachers/{world.teacher_1}/week", params={"date": day.isoformat()}).text
    assert 'class="badge makeup"' in week, "the teacher's week marks it a make-up"
    assert f'href="/sessions/{missed}"' not in week
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303
    assert f'href="/sessions/{missed}"' in client.get(f"/sessions/{made}").text
