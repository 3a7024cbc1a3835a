"""The week run from the grid, in a real browser: open a lesson from the day, put a
substitute on it, find every clash from the header, and print the day."""

from __future__ import annotations

import io
import re
from datetime import time, timedelta
from typing import Any

from pypdf import PdfReader
from sqlalchemy import Engine, select

from komawari.audit.service import Actor
from komawari.branches.models import Branch
from komawari.db.engine import session_scope
from komawari.people import service as people
from komawari.scheduling import clock
from komawari.sessions import service as sessions
from komawari.sessions.schemas import SessionCreate
from tests.browser.conftest import SHOTS, axe_violations, shot
from tests.browser.test_staff_pages import _clash_day, _sign_in

SETUP = Actor("test", "setup")


def test_a_lesson_opens_from_the_grid_and_takes_a_substitute(
    page: Any, site: str, demo_school: Engine
) -> None:
    _sign_in(page, site)
    page.goto(f"{page.url}?date={_clash_day(demo_school)}")
    card = page.locator("article.lesson.clash a.open").first
    name = card.inner_text().strip()
    card.click()
    page.wait_for_load_state()
    assert re.search(r"/sessions/\d+$", page.url), page.url
    assert name in page.locator("h1").inner_text()
    shot(page, "lesson-page")
    assert axe_violations(page) == []
    substitute = page.locator("#substitute li button").first
    who = substitute.inner_text().removesuffix(" teaches it")
    substitute.click()
    page.wait_for_load_state()
    assert page.url.endswith("?done=substitute")
    assert who in page.locator("#teacher").inner_text()
    assert "substitute for" in page.locator("#teacher").inner_text()


def test_every_clash_is_one_click_from_the_header(
    page: Any, site: str, demo_school: Engine
) -> None:
    _sign_in(page, site)
    link = page.locator("#clash-link")
    assert "clash" in link.inner_text()
    link.click()
    page.wait_for_load_state()
    assert re.search(r"/branches/\d+/clashes$", page.url), page.url
    rows = page.locator("#clashes tbody tr")
    assert rows.count() >= 1
    shot(page, "clash-list")
    assert axe_violations(page) == []
    rows.first.locator("a[href$='#substitute']").first.click()
    page.wait_for_load_state()
    assert re.search(r"/sessions/\d+#substitute$", page.url), page.url


def test_the_day_prints_without_the_pages_chrome(page: Any, site: str, demo_school: Engine) -> None:
    _sign_in(page, site)
    page.goto(f"{page.url}?date={_clash_day(demo_school)}")
    names = [n.strip() for n in page.locator("article.lesson a.open").all_inner_texts()]
    page.click("#print-link")
    page.wait_for_load_state()
    assert "print=1" in page.url
    page.emulate_media(media="print")
    hidden = page.evaluate(
        """() => ['.top', '.daynav', '.summary'].map(
               s => getComputedStyle(document.querySelector(s)).display)"""
    )
    assert hidden == ["none", "none", "none"]
    shown = [n.strip() for n in page.locator("article.lesson a.open").all_inner_texts()]
    assert sorted(shown) == sorted(names)
    assert all(page.locator("article.lesson").nth(i).is_visible() for i in range(len(names)))
    shot(page, "day-printed")
    SHOTS.mkdir(parents=True, exist_ok=True)
    pdf = page.pdf(path=str(SHOTS / "day-printed.pdf"), landscape=True, format="A4")
    assert pdf.startswith(b"%PDF")


def test_on_a_phone_the_day_is_an_agenda_with_the_grid_below(
    browser: Any, site: str, demo_school: Engine
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
    page = context.new_page()
    try:
        _sign_in(page, site)
        page.goto(f"{page.url}?date={_clash_day(demo_school)}")
        agenda = page.locator("ol.agenda")
        assert agenda.is_visible()
        items = agenda.locator("li")
        assert items.count() == page.locator("article.lesson").count() >= 2
        assert items.locator(".badge.bad").count() == 1
        assert page.locator(".gridwrap").is_visible()  # the grid stays reachable below
        box = agenda.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= 390
        shot(page, "day-agenda-390")
        assert axe_violations(page) == []
        items.first.locator("a").click()
        page.wait_for_load_state()
        assert re.search(r"/sessions/\d+$", page.url), page.url
    finally:
        context.close()


def test_on_a_desktop_there_is_no_agenda(page: Any, site: str, demo_school: Engine) -> None:
    _sign_in(page, site)
    assert not page.locator("ol.agenda").is_visible()


PUPILS = ("Akane", "Daichi", "Emiko", "Fumiya", "Genki", "Hanae", "Isamu", "Junko", "Kiyoshi",
          "Mayumi")  # fmt: skip


def test_a_printed_day_of_ten_teachers_has_every_student_and_no_navigation(
    page: Any, site: str, demo_school: Engine
) -> None:
    """Ten teachers' lessons on one day at the demo's first branch, printed to a PDF with
    Chromium: the PDF's text holds every student's name and none of the page's chrome."""
    with session_scope(demo_school) as s:
        branch = s.scalars(select(Branch).order_by(Branch.id)).first()
        assert branch is not None
        day = clock.branch_today(branch.time_zone) + timedelta(days=200)  # past the demo's
        for i, name in enumerate(PUPILS):
            teacher = people.create_teacher(s, name=f"Teacher {name}", actor=SETUP)
            pupil = people.create_student(s, name=name, actor=SETUP)
            hour = 14 + i % 6
            sessions.create_one_off(s, session_in=SessionCreate(
                branch_id=branch.id, teacher_id=teacher.id, student_id=pupil.id, date=day,
                start_time=time(hour), end_time=time(hour, 50)), actor=SETUP)  # fmt: skip
        branch_id = branch.id
    _sign_in(page, site)
    page.goto(f"{site}/branches/{branch_id}/day?date={day}&print=1")
    assert page.locator("article.lesson").count() == len(PUPILS)
    pdf = page.pdf(landscape=True, format="A4")
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "day-ten-teachers.pdf").write_bytes(pdf)
    words = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    missing = [n for n in PUPILS if n not in words]
    assert missing == [], f"students not in the printed day: {missing}"
    chrome = ("Sign out", "Schedule", "Operator", "Users", "Back to the day", "Printable view",
              "Find")  # fmt: skip
    assert [w for w in chrome if w in words] == [], "navigation printed"
    assert len(PdfReader(io.BytesIO(pdf)).pages) >= 2, "10 columns: sheets of at most 8"


def test_the_branch_week_shows_each_teachers_lessons_by_day(
    page: Any, site: str, demo_school: Engine
) -> None:
    _sign_in(page, site)
    day = _clash_day(demo_school)
    with session_scope(demo_school) as s:
        branch = s.scalars(select(Branch).order_by(Branch.id)).first()
        assert branch is not None
        branch_id = branch.id
    page.goto(f"{site}/branches/{branch_id}/week?date={day}")
    cards = page.locator("main a[href^='/sessions/']")
    assert cards.count() >= 1, "the week's lessons are links"
    shot(page, "branch-week")
    assert axe_violations(page) == []
    cards.first.click()
    page.wait_for_load_state()
    assert re.search(r"/sessions/\d+$", page.url), page.url
