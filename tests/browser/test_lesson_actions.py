"""The week run from the grid, in a real browser: open a lesson from the day, put a
substitute on it, find every clash from the header, and print the day."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine

from tests.browser.conftest import SHOTS, axe_violations, shot
from tests.browser.test_staff_pages import _clash_day, _sign_in


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
