"""A member of staff's day, in a real browser: sign in, read the day, make a series after
seeing its preview, meet the duplicate, cancel a clash away, read it all in Japanese."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from komawari.auth.enums import Role
from komawari.branches.models import Branch
from komawari.db.engine import session_scope
from komawari.series.models import ClassSeries
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from komawari.web.cli import DEMO_PASSWORD, DEMO_USER
from tests.browser.conftest import axe_violations, shot
from tests.web.pages import PASSWORD, make_user


def _sign_in(page: Any, site: str, user: str = DEMO_USER, password: str = DEMO_PASSWORD) -> None:
    page.goto(f"{site}/sign-in")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state()


def _fill_series(
    page: Any, site: str, student: str, weekday: str, start: str, end: str, first: date
) -> None:
    """Open the series form and fill in a weekly lesson of Sato Sensei's."""
    page.goto(f"{site}/series/new")
    page.select_option("#teacher_id", label="Sato Sensei")
    page.select_option("#student_id", label=student)
    page.check(f"input[name=weekdays][value={weekday}]")
    page.fill("#start_time", start)
    page.fill("#end_time", end)
    page.fill("#first_date", first.isoformat())


def _next(weekday: int) -> date:
    today = date.today()
    return today + timedelta(days=(weekday - today.isoweekday()) % 7 + 7)


def _clash_day(engine: Engine) -> date:
    """Return the day of the demo school's double booking."""
    with session_scope(engine) as s:
        found = s.scalar(
            select(ClassSession.date).where(
                ClassSession.status == SessionStatus.CONFLICTED, ClassSession.series_id.is_(None)
            )
        )
    assert found is not None, "the demo school books one lesson over another"
    return found


def _series_count(engine: Engine) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(ClassSeries)) or 0


def test_staff_read_the_day_preview_a_series_meet_its_duplicate_and_cancel_a_clash(
    page: Any, site: str, demo_school: Engine
) -> None:
    _sign_in(page, site)
    assert re.search(r"/branches/\d+/day$", page.url), page.url
    assert page.locator("h1").inner_text().startswith("Shibuya")
    thursday = _next(4)
    day = page.url
    page.goto(f"{day}?date={_clash_day(demo_school)}")
    assert page.locator("article.lesson").count() >= 2
    assert page.locator("article.lesson.clash").count() == 2, "both sides of the clash show"
    assert page.locator("article.status-conflicted .badge.bad").count() == 1
    shot(page, "day-en-desktop")
    assert axe_violations(page) == []
    page.set_viewport_size({"width": 375, "height": 800})
    shot(page, "day-en-375")
    page.set_viewport_size({"width": 1280, "height": 900})

    # A new series: its lessons appear in the preview before anything is saved.
    _fill_series(page, site, "Aoi", "thu", "21:00", "22:00", thursday)
    page.locator("#first_date").dispatch_event("change")
    page.wait_for_selector("#preview-sessions tbody tr")
    assert page.locator("#preview-sessions tbody tr").count() >= 7
    before = _series_count(demo_school)
    shot(page, "series-form-preview")
    assert axe_violations(page) == []
    page.click("button.primary")
    page.wait_for_url(re.compile(r"/series/\d+\?created=1$"))
    first_url = page.url.split("?")[0]
    assert _series_count(demo_school) == before + 1

    # The same series again: refused, naming the existing one with a working link.
    _fill_series(page, site, "Aoi", "thu", "21:00", "22:00", thursday)
    page.click("button.primary")
    page.wait_for_selector("#duplicate")
    link = page.locator("#duplicate a")
    assert link.get_attribute("href") == first_url.removeprefix(site)
    link.click()
    page.wait_for_url(first_url)
    assert _series_count(demo_school) == before + 1

    # A clashing series for another student: its lessons are CONFLICTED with Aoi's.
    _fill_series(page, site, "Mei", "thu", "21:30", "22:30", thursday)
    page.click("button.primary")
    page.wait_for_url(re.compile(r"/series/\d+\?created=1$"))
    page.goto(first_url)
    page.click("#series-sessions tbody tr:first-child a")
    page.wait_for_selector("#clashes")
    partner = page.locator("#clashes a").first.get_attribute("href")
    page.fill("#reason", "teacher's training day")
    page.click("#cancel-form button")
    page.wait_for_selector("#re-evaluated")
    assert page.locator(f"#re-evaluated a[href='{partner}']").count() == 1
    assert "Confirmed" in page.locator("#re-evaluated").inner_text()
    page.goto(f"{site}{partner}")
    assert "Confirmed" in page.locator("#status").inner_text()


def test_the_pages_switch_to_japanese(page: Any, site: str, demo_school: Engine) -> None:
    _sign_in(page, site)
    page.click("button[name=locale][value=ja]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "ja"
    assert "時間割" in page.locator("header").inner_text()
    page.goto(f"{page.url.split('?')[0]}?date={_clash_day(demo_school)}")
    shot(page, "day-ja-desktop")
    page.set_viewport_size({"width": 375, "height": 800})
    shot(page, "day-ja-375")
    assert axe_violations(page) == []


def test_staff_of_one_branch_meet_404_for_another_and_403_for_writing_there(
    page: Any, site: str, demo_school: Engine
) -> None:
    with session_scope(demo_school) as s:
        shibuya, yokohama = s.scalars(select(Branch.id).order_by(Branch.id)).all()
        theirs = s.scalar(select(ClassSeries.id).where(ClassSeries.branch_id == yokohama))
    make_user(demo_school, "shibuya-office", Role.STAFF, branch_ids=[shibuya])
    _sign_in(page, site, "shibuya-office", PASSWORD)
    assert page.goto(f"{site}/branches/{yokohama}/day").status == 404
    assert page.goto(f"{site}/series/{theirs}").status == 404
    page.goto(f"{site}/series/new")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    before = _series_count(demo_school)
    answer = page.request.post(
        f"{site}/series",
        form={"csrf_token": token, "branch_id": str(yokohama), "teacher_id": "1",
              "student_id": "1", "weekdays": "mon", "start_time": "09:00",
              "end_time": "10:00", "first_date": _next(1).isoformat()},
    )  # fmt: skip
    assert answer.status == 403
    assert _series_count(demo_school) == before


def test_a_form_posted_without_its_csrf_token_is_refused_and_changes_nothing(
    page: Any, site: str, demo_school: Engine
) -> None:
    _sign_in(page, site)
    _fill_series(page, site, "Aoi", "sun", "09:00", "10:00", _next(7))
    page.evaluate("document.querySelector('#series-form input[name=csrf_token]').remove()")
    before = _series_count(demo_school)
    with page.expect_response(lambda r: r.url.endswith("/series")) as posted:
        page.click("button.primary")
    assert posted.value.status == 403
    assert _series_count(demo_school) == before


def test_the_operator_page_reads_cleanly(page: Any, site: str, demo_school: Engine) -> None:
    _sign_in(page, site)
    page.goto(f"{site}/operator")
    assert page.locator("#doctor").count() == 1
    assert page.locator("#skipped svg rect").count() == 57
    shot(page, "operator")
    assert axe_violations(page) == []


def test_every_other_page_reads_cleanly(page: Any, site: str, demo_school: Engine) -> None:
    with session_scope(demo_school) as s:
        lesson = s.scalar(
            select(ClassSession.id).where(
                ClassSession.status == SessionStatus.CONFLICTED, ClassSession.series_id.is_(None)
            )
        )
        series = s.scalar(select(ClassSeries.id).order_by(ClassSeries.id))
        branch = s.scalar(select(Branch.id).order_by(Branch.id))
        teacher = s.scalar(select(ClassSession.teacher_id).where(ClassSession.id == lesson))
    _sign_in(page, site)
    for path in (
        f"/sessions/{lesson}",
        f"/sessions/new?branch_id={branch}",
        "/series",
        f"/series/{series}",
        f"/series/{series}/pause",
        f"/branches/{branch}/closures",
        f"/teachers/{teacher}/week",
        "/teachers",
        "/rooms",
    ):
        assert page.goto(f"{site}{path}").status == 200, path
        assert axe_violations(page) == [], path
    page.goto(f"{site}/sessions/{lesson}")
    shot(page, "lesson")
