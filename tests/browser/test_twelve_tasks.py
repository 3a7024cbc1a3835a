"""The office manager's twelve everyday tasks on the demo school, in a real browser.

Each task starts at the branch's day page (reached by its address, as a bookmark would)
and counts its clicks (a click, a ticked box, Enter in a box) and the fields it types or
picks. None may take more than four clicks. The counts are printed, written to
artifacts/twelve-tasks.json, and listed in docs/web.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, select

from komawari.branches.models import BranchClosure
from komawari.db.engine import session_scope
from komawari.series.models import SeriesPauseRecord
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from tests.browser.conftest import SHOTS
from tests.browser.test_staff_pages import _clash_day, _sign_in

MAX_CLICKS = 4


@dataclass
class Task:
    """One task's tally."""

    name: str
    clicks: int = 0
    fields: int = 0


@dataclass
class Walk:
    page: Any
    day: str  # the day page's address
    done: list[Task] = field(default_factory=list)

    def start(self, name: str, when: date | None = None) -> Task:
        self.page.goto(self.day + (f"?date={when}" if when else ""))
        self.done.append(Task(name))
        return self.done[-1]

    def click(self, target: Any) -> None:
        self.done[-1].clicks += 1
        target.click()
        self.page.wait_for_load_state()

    def fill(self, selector: str, value: str) -> None:
        self.done[-1].fields += 1
        self.page.fill(selector, value)

    def pick(self, selector: str, label: str) -> None:
        self.done[-1].fields += 1
        self.page.select_option(selector, label=label)


def _a_day_with_lessons(engine: Engine) -> date:
    return _clash_day(engine)


def _status(engine: Engine, sid: int) -> SessionStatus:
    with session_scope(engine) as s:
        return s.get_one(ClassSession, sid).status


def _lesson_id(page: Any) -> int:
    found = re.search(r"/sessions/(\d+)", page.url)
    assert found, page.url
    return int(found.group(1))


def test_the_twelve_tasks_take_four_clicks_or_fewer(
    page: Any, site: str, demo_school: Engine
) -> None:
    _sign_in(page, site)
    walk = Walk(page, page.url.split("?")[0])
    day = _a_day_with_lessons(demo_school)

    # 1. See a branch's day (the landing page), then another branch's.
    walk.start("see a branch's day")
    assert page.locator("h1").inner_text().startswith("Shibuya")
    walk.click(page.locator(".switcher summary"))
    walk.click(page.locator(".switcher a", has_text="Yokohama"))
    assert page.locator("h1").inner_text().startswith("Yokohama")

    # 10. Find every clash of the next four weeks and fix one (before the other tasks
    # change the demo's clash).
    walk.start("find the clashes and fix one")
    walk.click(page.locator("#clash-link"))
    before = page.locator("#clashes tbody tr").count()
    assert before >= 1
    walk.click(page.locator("#clashes a[href$='#substitute']").first)
    walk.click(page.locator("#substitute li button").first)
    page.goto(walk.day.replace("/day", "/clashes"))
    assert page.locator("#clashes tbody tr").count() < before

    # 2. Book: an empty hour of a teacher opens the form filled in.
    walk.start("book a lesson", day)
    walk.click(page.locator("a.slot").last)
    walk.pick("#student_id", "Aoi")
    walk.click(page.locator("#session-form button.primary"))
    if "/sessions/new" in page.url or page.locator("button[name=book_anyway]").count():
        walk.click(page.locator("button[name=book_anyway]"))
    booked = _lesson_id(page)
    assert _status(demo_school, booked) != SessionStatus.CANCELLED

    # 3. Cancel a lesson.
    walk.start("cancel a lesson", day)
    walk.click(page.locator("article.lesson a.open").first)
    cancelled = _lesson_id(page)
    walk.fill("#reason", "ill")
    walk.click(page.locator("#cancel-form button"))
    assert _status(demo_school, cancelled) == SessionStatus.CANCELLED

    # 4. Move a lesson.
    walk.start("move a lesson", day)
    walk.click(page.locator("article.lesson:not(.status-cancelled) a.open").first)
    walk.fill("#move-start", "21:00")
    walk.fill("#move-end", "21:45")
    walk.click(page.locator("#move-form button"))
    assert page.url.endswith("?done=move")

    # 5. Make a series.
    walk.start("make a series")
    walk.click(page.locator("header nav a", has_text="Series"))
    walk.click(page.locator("a", has_text="New series"))
    walk.pick("#teacher_id", "Kato Sensei")
    walk.pick("#student_id", "Mio")
    walk.click(page.locator("input[name=weekdays][value=sat]"))
    walk.fill("#start_time", "10:00")
    walk.fill("#end_time", "11:00")
    walk.fill("#first_date", (date.today() + timedelta(days=7)).isoformat())
    walk.click(page.locator("#series-form button.primary"))
    assert re.search(r"/series/\d+\?created=1$", page.url), page.url

    # 6. A two-week break from a series' lesson, and back.
    walk.start("take a two-week break", day)
    with session_scope(demo_school) as s:
        weekly = s.scalars(
            select(ClassSession.id).where(
                ClassSession.date == day,
                ClassSession.branch_id == int(walk.day.split("/branches/")[1].split("/")[0]),
                ClassSession.series_id.is_not(None),
                ClassSession.status == SessionStatus.CONFIRMED,
            )
        ).first()
    assert weekly is not None, "the demo school has a weekly lesson that day"
    walk.click(page.locator(f"#lesson-{weekly} a.open"))
    walk.click(page.locator("#series-link"))
    series_url = page.url
    walk.click(page.locator("a", has_text="Break or pause"))
    first = date.today() + timedelta(days=1)
    walk.fill("#from_date", first.isoformat())
    walk.fill("#until", (first + timedelta(days=13)).isoformat())
    walk.click(page.locator("#action-form button.primary"))
    with session_scope(demo_school) as s:
        assert s.scalar(select(SeriesPauseRecord.id)) is not None
    # Back: from a lesson of the series after the break, on its day page.
    later = day + timedelta(days=21)
    with session_scope(demo_school) as s:
        series_id = s.get_one(ClassSession, weekly).series_id
        after = s.scalars(
            select(ClassSession.id).where(
                ClassSession.series_id == series_id, ClassSession.date == later
            )
        ).one()
    walk.start("come back from the break", later)
    walk.click(page.locator(f"#lesson-{after} a.open"))
    walk.click(page.locator("#series-link"))
    assert page.url == series_url
    walk.click(page.locator("a", has_text="End the break now"))
    walk.click(page.locator("#action-form button.primary"))
    assert "?done=resume" in page.url

    # 7. Close a range of days.
    walk.start("close a range of days")
    walk.click(page.locator("a", has_text="Closure days"))
    closed = date.today() + timedelta(days=60)
    walk.fill("#date", closed.isoformat())
    walk.fill("#until", (closed + timedelta(days=2)).isoformat())
    walk.click(page.locator("#closure-form button.primary"))
    with session_scope(demo_school) as s:
        assert len(s.scalars(select(BranchClosure.date)).all()) >= 3

    # 8. Put a substitute on a lesson.
    walk.start("put a substitute on a lesson", day)
    walk.click(page.locator("article.lesson:not(.status-cancelled) a.open").first)
    walk.click(page.locator("#substitute li button").first)
    assert "substitute for" in page.locator("#teacher").inner_text()

    # 9. Add a student, add a teacher, and book them.
    walk.start("add a student")
    walk.click(page.locator("header nav a", has_text="People and places"))
    walk.click(page.locator("a", has_text="Students"))
    walk.fill("#name", "Hinata")
    walk.click(page.locator("#add-form button"))
    walk.start("add a teacher")
    walk.click(page.locator("header nav a", has_text="People and places"))
    walk.fill("#name", "Mori Sensei")
    walk.click(page.locator("#add-form button"))
    walk.start("book the new teacher and student", day)
    walk.click(page.locator("a", has_text="Book a lesson"))
    walk.pick("#teacher_id", "Mori Sensei")
    walk.pick("#student_id", "Hinata")
    walk.fill("#start_time", "18:00")
    walk.fill("#end_time", "19:00")
    walk.click(page.locator("#session-form button.primary"))
    assert "?done=create" in page.url

    # 11. A teacher's week and a student's week.
    walk.start("see a teacher's week", day)
    walk.click(page.locator(".colhead a").first)
    assert "/teachers/" in page.url
    walk.start("see a student's week")
    walk.fill("#find", "Aoi")
    walk.done[-1].clicks += 1  # Enter
    page.press("#find", "Enter")
    page.wait_for_load_state()
    walk.click(page.locator("#found-students a", has_text="Aoi"))
    assert "/students/" in page.url

    # 12. Print the day: its printable view, then the browser's print (one keypress).
    walk.start("print the day", day)
    walk.click(page.locator("#print-link"))
    walk.done[-1].clicks += 1
    page.emulate_media(media="print")
    assert page.pdf(format="A4", landscape=True).startswith(b"%PDF")
    page.emulate_media(media="screen")

    table = {t.name: {"clicks": t.clicks, "fields": t.fields} for t in walk.done}
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS.parent / "twelve-tasks.json").write_text(json.dumps(table, indent=2))
    for name, counts in table.items():
        print(f"{name}: {counts['clicks']} clicks, {counts['fields']} fields")
    assert {n: c["clicks"] for n, c in table.items() if c["clicks"] > MAX_CLICKS} == {}
