"""The day page: every lesson where its times say, a clash impossible to miss from either
side, cancelled lessons behind a toggle, and a cost that does not grow with the day."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from komawari.audit.service import Actor
from komawari.auth.enums import Role
from komawari.branches import holiday_names
from komawari.branches import service as branches
from komawari.db.engine import session_scope
from komawari.people import service as people
from komawari.sessions import service as sessions
from tests.factories.world import World, book
from tests.web.pages import csrf_of, make_user, sign_in

DAY = date(2026, 12, 3)
SETUP = Actor("test", "setup")


@pytest.fixture
def office(client: TestClient, world: World, committed_engine: Engine) -> TestClient:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303
    return client


def _day(client: TestClient, w: World, query: str = "") -> str:
    answer = client.get(f"/branches/{w.branch_a}/day?date={DAY}{query}")
    assert answer.status_code == 200, answer.text
    return answer.text


def _block(html: str, session_id: int) -> str:
    start = html.index(f'id="lesson-{session_id}"')
    return html[start : html.index("</article>", start)]


def test_a_clash_shows_on_the_later_booking_and_on_the_one_booked_first(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    first = book(committed_engine, world, DAY, "20:00", "21:30")
    later = book(committed_engine, world, DAY, "21:00", "22:00", student_id=world.student_2)
    html = _day(office, world)
    assert "Clash</p>" in _block(html, later)
    assert f'href="/sessions/{first}"' in _block(html, later)
    assert "Booked first; clashes" in _block(html, first)
    assert f'href="/sessions/{later}"' in _block(html, first)
    assert "Clashes: 1" in html


def test_lessons_that_touch_end_to_start_do_not_clash_on_the_page(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    a = book(committed_engine, world, DAY, "18:00", "19:00")
    b = book(committed_engine, world, DAY, "19:00", "20:00", student_id=world.student_2)
    html = _day(office, world)
    assert "clash" not in _block(html, a).split('"')[1]
    assert "Clash" not in _block(html, b)
    assert "no clashes" in html


def test_cancelled_lessons_sit_behind_a_toggle(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    gone = book(committed_engine, world, DAY, "16:00", "17:00")
    with session_scope(committed_engine) as s:
        sessions.cancel(s, gone, reason="student ill", actor=SETUP)
    assert f'id="lesson-{gone}"' not in _day(office, world)
    shown = _day(office, world, "&cancelled=1")
    assert "student ill" in _block(shown, gone)
    assert "status-cancelled" in shown


def test_closures_and_public_holidays_are_marked(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    with session_scope(committed_engine) as s:
        branches.add_closure(s, world.branch_a, DAY, reason="staff training", actor=SETUP)
    assert "staff training" in _day(office, world)
    holiday = office.get(f"/branches/{world.branch_a}/day?date=2026-11-23").text
    assert "Public holiday" in holiday
    assert "Labour Thanksgiving Day" in holiday, "an English page names it in English"
    assert "勤労感謝の日" not in holiday
    office.post("/language", data={"locale": "ja", "next": "/",
                                  "csrf_token": csrf_of(holiday)})  # fmt: skip
    in_japanese = office.get(f"/branches/{world.branch_a}/day?date=2026-11-23").text
    assert "勤労感謝の日" in in_japanese


def test_every_holiday_of_the_coming_years_has_an_english_name() -> None:
    import jpholiday

    names = {str(n) for y in range(2024, 2041) for _, n in jpholiday.year_holidays(y)}
    untranslated = sorted(n for n in names if holiday_names.in_language(n, "en") == n)
    assert untranslated == []
    assert (
        holiday_names.in_language("文化の日 振替休日", "en") == "Culture Day (substitute holiday)"
    )


def test_rooms_can_be_the_columns(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    lesson = book(committed_engine, world, DAY, "16:00", "17:00", room_id=world.room_a)
    html = _day(office, world, "&by=room")
    assert "A1" in html
    assert f'id="lesson-{lesson}"' in html


def test_the_page_costs_the_same_queries_for_a_full_day(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    def queries_of_the_page() -> int:
        seen: list[str] = []

        def count(*args: object) -> None:
            seen.append(str(args[2]))

        event.listen(committed_engine, "before_cursor_execute", count)
        try:
            _day(office, world)
        finally:
            event.remove(committed_engine, "before_cursor_execute", count)
        return len(seen)

    with session_scope(committed_engine) as s:
        teachers = [people.create_teacher(s, name=f"T{i}", actor=SETUP).id for i in range(6)]
        students = [people.create_student(s, name=f"S{i}", actor=SETUP).id for i in range(40)]
    # The few lessons already have a room, a group and a clash: the queries that only run
    # when such lessons exist are counted in both cases.
    for i in range(3):
        book(committed_engine, world, DAY, f"1{i}:00", f"1{i}:50", teacher_id=teachers[i],
              student_id=students[i], room_id=world.room_a)  # fmt: skip
    book(committed_engine, world, DAY, "10:30", "11:00", teacher_id=teachers[0], kind="GROUP",
          student_id=None, student_ids=[students[38], students[39]], title="Club")  # fmt: skip
    book(committed_engine, world, DAY, "10:45", "11:30", teacher_id=teachers[0],
          student_id=students[37])  # a clash whose blocker is the group lesson  # fmt: skip
    _day(office, world)  # the first visit notes the user's last branch (one UPDATE, once)
    few = queries_of_the_page()
    for i in range(3, 37):
        hour = 10 + i % 10
        book(committed_engine, world, DAY, f"{hour}:00", f"{hour}:45", teacher_id=teachers[i % 6],
              student_id=students[i], room_id=world.room_a if i % 4 == 0 else None)  # fmt: skip
    assert queries_of_the_page() == few


def test_another_branchs_day_is_not_found_and_a_teacher_may_not_see_it(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    assert office.get(f"/branches/{world.branch_b}/day").status_code == 404
    assert office.get("/branches/999999/day").status_code == 404
    page = office.get(f"/branches/{world.branch_a}/day")
    office.post("/sign-out", data={"csrf_token": csrf_of(page.text)})
    make_user(committed_engine, "teach", Role.TEACHER, teacher_id=world.teacher_1)
    assert sign_in(office, "teach") == 303
    assert office.get(f"/branches/{world.branch_a}/day").status_code in (403, 404)
    assert office.get(f"/teachers/{world.teacher_1}/week").status_code == 200
    assert office.get(f"/teachers/{world.teacher_2}/week").status_code == 404


def test_a_teachers_and_a_students_week_show_their_lessons(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    lesson = book(committed_engine, world, DAY, "17:00", "18:00")
    week = office.get(f"/teachers/{world.teacher_1}/week?date={DAY}")
    assert week.status_code == 200
    assert "17:00\u201318:00" in week.text
    assert "Aoi" in week.text
    student = office.get(f"/students/{world.student_1}/week?date={DAY}")
    assert student.status_code == 200
    assert "17:00\u201318:00" in student.text
    assert lesson > 0


def test_a_bad_date_is_a_clear_error_page(office: TestClient, world: World) -> None:
    answer = office.get(f"/branches/{world.branch_a}/day?date=2025-02-30")
    assert answer.status_code == 422
    assert "date" in answer.text
    assert "text/html" in answer.headers["content-type"]


def test_a_day_of_ten_teachers_prints_as_sheets_of_eight_columns(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    """The printable view (`?print=1`, the day's "Print" link) puts the day's columns in
    sheets of at most eight, each with the hours, and every lesson on one of them; the
    print stylesheet leaves out the header, navigation, forms and buttons."""
    with session_scope(committed_engine) as s:
        teachers = [people.create_teacher(s, name=f"T{i:02d}", actor=SETUP).id for i in range(8)]
        students = [
            people.create_student(s, name=f"Pupil{i:02d}", actor=SETUP).id for i in range(10)
        ]
    for i, teacher in enumerate([world.teacher_1, world.teacher_2, *teachers]):
        book(committed_engine, world, DAY, f"{16 + i % 4}:00", f"{16 + i % 4}:50",
             teacher_id=teacher, student_id=students[i])  # fmt: skip
    day = _day(office, world)
    assert f'href="?date={DAY}&amp;by=teacher&amp;print=1" id="print-link"' in day
    assert 'class="print-page"' not in day  # the screen's day carries no second copy
    printed = office.get(
        f"/branches/{world.branch_a}/day", params={"date": str(DAY), "print": 1}
    ).text
    sheets = printed.split('<section class="print-page">')[1:]
    assert [sheet.count('class="colhead"') for sheet in sheets] == [8, 2]
    assert all('class="hour"' in sheet for sheet in sheets)
    assert all(f"Pupil{i:02d}" in printed for i in range(10))
    assert 'class="slot"' not in printed
    assert 'class="agenda"' not in printed
    css = (Path(__file__).parents[2] / "src/komawari/web/static/app.css").read_text()
    rules = css.split("@media print")[1]
    for hidden in (".top", "nav", "form", "button"):
        assert hidden in rules.split("display: none")[0]
    assert ".screen-only { display: none" in rules


def test_a_day_of_one_teacher_prints_as_one_sheet(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    book(committed_engine, world, DAY, "16:00", "17:00")
    printed = office.get(
        f"/branches/{world.branch_a}/day", params={"date": str(DAY), "print": 1}
    ).text
    assert printed.count('<section class="print-page">') == 1


def test_the_room_picker_lists_the_chosen_branchs_rooms_without_script(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    """Opened from branch A's grid, the booking form offers A's rooms only; a form shown
    again with a room of B keeps that room (and its refusal names the mismatch)."""
    make_user(committed_engine, "head", Role.ADMIN)
    assert sign_in(office, "head") == 303

    def rooms(html: str) -> set[str]:
        picker = html[html.index('id="room_id"') :]
        return set(re.findall(r'<option value="(\d+)"', picker[: picker.index("</select>")]))

    both = office.get("/sessions/new").text
    assert rooms(both) == {str(world.room_a), str(world.room_b)}, "no branch chosen yet"
    mine = office.get("/sessions/new", params={"branch_id": world.branch_a}).text
    assert rooms(mine) == {str(world.room_a)}
    form = {"csrf_token": csrf_of(mine), "branch_id": world.branch_a, "room_id": world.room_b,
            "teacher_id": world.teacher_1, "student_id": world.student_1, "date": str(DAY),
            "start_time": "16:00", "end_time": "17:00"}  # fmt: skip
    again = office.post("/sessions", data=form)
    assert again.status_code == 422
    assert rooms(again.text) == {str(world.room_a), str(world.room_b)}, "the entry is kept"
    assert f'<option value="{world.room_b}" selected' in again.text
