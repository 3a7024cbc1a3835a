"""Attendance and a make-up (振替) as a teacher and the office do them: the teacher takes
today's roll on a 390-px phone with one student absent (the family rang ahead); the office
sees the student's credit, opens the slot finder, books a make-up in three clicks, and
sees it on the day grid and in the balance. In Japanese the same walk reads 出席 / 欠席 /
振替."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from komawari.audit.service import Actor
from komawari.auth import users
from komawari.auth.enums import Role
from komawari.branches import periods
from komawari.branches import service as branches
from komawari.branches.schemas import PeriodCreate
from komawari.db.engine import session_scope
from komawari.people import service as people
from komawari.people.models import Student, Teacher
from komawari.sessions import service as sessions
from komawari.sessions.schemas import SessionCreate
from tests.browser.conftest import axe_violations, shot
from tests.browser.test_staff_pages import _sign_in

SETUP = Actor("test", "setup")
PASSWORD = "teacher secret 2026"
# Branch zones to pick from: the one where it is closest to 11:00 now, so that today's
# lessons at 19:00 and 20:00 are still ahead whatever the hour CI runs at.
ZONES = (
    "Asia/Tokyo", "Asia/Kolkata", "Europe/London", "America/New_York",
    "America/Los_Angeles", "Pacific/Auckland", "Asia/Dubai", "Pacific/Honolulu",
)  # fmt: skip


def _number(text: str) -> int:
    found = re.search(r"\d+", text)
    assert found, text
    return int(found.group())


def _zone() -> str:
    now = datetime.now(UTC)

    def distance(name: str) -> float:
        local = now.astimezone(ZoneInfo(name))
        return abs(local.hour + local.minute / 60 - 11)

    return min(ZONES, key=distance)


def _school(engine: Engine) -> dict[str, Any]:
    """A branch in a zone where it is late morning, with periods and a room; today two
    private lessons of Sato Sensei's there (Aoi at 19:00, Haruto at 20:00); Sato's user."""
    zone = _zone()
    today = datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
    with session_scope(engine) as s:
        branch = branches.create(s, name="Minato", time_zone=zone, actor=SETUP)
        for name, start in (("5限", 18), ("6限", 19), ("7限", 20)):
            period = PeriodCreate(name=name, start_time=time(start), end_time=time(start + 1))
            periods.add(s, branch.id, period, actor=SETUP)
        room = people.create_room(s, branch_id=branch.id, name="M1", capacity=2, actor=SETUP)
        sato = s.scalars(select(Teacher).where(Teacher.name == "Sato Sensei")).one()
        names = {st.name: st.id for st in s.scalars(select(Student))}
        lessons = {}
        for student, hour in (("Aoi", 19), ("Haruto", 20)):
            made = sessions.create_one_off(
                s,
                session_in=SessionCreate(
                    branch_id=branch.id, teacher_id=sato.id, student_id=names[student],
                    room_id=room.id, date=today, start_time=time(hour),
                    end_time=time(hour + 1),
                ),
                actor=SETUP,
            )  # fmt: skip
            lessons[student] = made.id
        users.create(s, username="sato", role=Role.TEACHER, password=PASSWORD,
                     branch_ids=[], teacher_id=sato.id, actor=SETUP)  # fmt: skip
        return {"branch": branch.id, "lessons": lessons, "students": names}


@pytest.mark.parametrize("language", ["en", "ja"])
def test_a_teacher_takes_the_roll_and_the_office_books_a_make_up_in_three_clicks(
    browser: Any, site: str, demo_school: Engine, language: str
) -> None:
    school = _school(demo_school)
    aoi, haruto = school["lessons"]["Aoi"], school["lessons"]["Haruto"]
    haruto_id = school["students"]["Haruto"]
    locale = "ja-JP" if language == "ja" else "en-GB"

    # The teacher, on a phone: today's lessons, one tap per student.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale=locale,
                                is_mobile=True, has_touch=True)  # fmt: skip
    roll = phone.new_page()
    _sign_in(roll, site, "sato", PASSWORD)
    roll.goto(f"{site}/me/today")
    assert roll.locator(f"#lesson-{aoi}").is_visible()
    assert roll.locator(f"#lesson-{haruto}").is_visible()
    words = roll.locator("main").inner_text()
    if language == "ja":
        assert "出席" in words
        assert "欠席" in words
    roll.click(f"#mark-{haruto}-{haruto_id}-absent_notified")
    roll.wait_for_load_state()
    roll.click(f"#all-present-{aoi}")
    roll.wait_for_load_state()
    assert roll.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scroll"
    now_haruto = roll.locator(f"#now-{haruto}-{haruto_id}").inner_text()
    now_aoi = roll.locator(f"#now-{aoi}-{school['students']['Aoi']}").inner_text()
    if language == "ja":
        assert "欠席" in now_haruto
        assert "出席" in now_aoi
    else:
        assert "Absent" in now_haruto
        assert "Present" in now_aoi
    shot(roll, f"roll-phone-{language}")
    assert axe_violations(roll) == []
    phone.close()

    # The office: the credit on Haruto's page, then the slots, Book, and the grid.
    office = browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale)
    page = office.new_page()
    _sign_in(page, site)
    page.goto(f"{site}/students/{haruto_id}/week")
    assert _number(page.locator("#balance").inner_text()) == 1
    if language == "ja":
        assert "振替" in page.locator("#credits").inner_text()
    page.locator("#credits a[id^=find-slot-]").first.click()  # 1
    page.wait_for_load_state()
    assert "/makeup" in page.url
    assert page.locator("#slot-1").is_visible()
    shot(page, f"makeup-slots-{language}")
    assert axe_violations(page) == []
    page.click("#book-1")  # 2
    page.wait_for_load_state()
    assert page.locator("#makeup-for").is_visible()
    made = int(page.url.split("/sessions/")[1].split("?")[0])
    page.click(f"a[href*='/day?date='][href$='#lesson-{made}']")  # 3
    page.wait_for_load_state()
    badge = page.locator(f"#makeup-{made}")
    assert badge.is_visible()
    assert ("振替" if language == "ja" else "Make-up") in badge.inner_text()
    assert badge.locator(f"a[href='/sessions/{haruto}']").count() == 1, "links the missed one"
    shot(page, f"makeup-on-grid-{language}")
    page.goto(f"{site}/students/{haruto_id}/week")
    assert _number(page.locator("#balance").inner_text()) == 0
    office.close()
