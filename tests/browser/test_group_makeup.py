"""A make-up for a missed group lesson, in a real browser: a student of the demo's
conversation club told the office they would miss Saturday's club; the office opens the
student's week, finds the make-up slots (the branch's other group lessons with a seat
left), and joins one in two clicks. In Japanese the page says 振替 and 残り席数."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from komawari.attendance import policies
from komawari.attendance import service as attendance
from komawari.attendance.enums import AttendanceState
from komawari.attendance.schemas import MarkIn
from komawari.audit.service import Actor
from komawari.db.engine import session_scope
from komawari.people.models import Student, Teacher
from komawari.series import service as series_service
from komawari.series.enums import SeriesKind
from komawari.series.models import ClassSeries, SeriesEnrolment
from komawari.series.schemas import SeriesCreate
from komawari.sessions.models import ClassSession
from tests.browser.conftest import axe_violations, shot
from tests.browser.test_furikae import _number
from tests.browser.test_staff_pages import _sign_in

SETUP = Actor("test", "setup")


def _absent_from_the_club(engine: Engine) -> int:
    """A club student's notice for next Saturday's club (a credit); a Sunday "Grammar
    club" of the same length with 2 students for 2 places; the branch's group policy
    gives one make-up seat. Return the student's id."""
    with session_scope(engine) as s:
        club = s.scalars(select(ClassSeries).where(ClassSeries.kind == SeriesKind.GROUP)
                         .order_by(ClassSeries.id)).first()  # fmt: skip
        assert club is not None
        enrolled = set(s.scalars(select(SeriesEnrolment.student_id)
                                 .where(SeriesEnrolment.series_id == club.id)))  # fmt: skip
        kid = min(enrolled)
        lesson = s.scalars(
            select(ClassSession)
            .where(ClassSession.series_id == club.id,
                   ClassSession.starts_at > datetime.now(UTC) + timedelta(days=1))
            .order_by(ClassSession.date)
        ).first()  # fmt: skip
        assert lesson is not None
        attendance.mark(s, lesson, [MarkIn(student_id=kid, state=AttendanceState.ABSENT_NOTIFIED)],
                        SETUP)  # fmt: skip
        others = [i for i in s.scalars(select(Student.id).order_by(Student.id))
                  if i not in enrolled][:2]  # fmt: skip
        teacher = s.scalars(select(Teacher.id).order_by(Teacher.id)).first()
        grammar = SeriesCreate(
            branch_id=club.branch_id, teacher_id=teacher, kind="GROUP", title="Grammar club",
            capacity=2, student_ids=others, weekdays=["sun"], start_time=time(13),
            end_time=time(14, 30), first_date=lesson.date,
        )  # fmt: skip
        series_service.create(s, series_in=grammar, actor=SETUP)
        now = policies.current(s, club.branch_id)[SeriesKind.GROUP][0]
        policies.set_policy(s, club.branch_id, SeriesKind.GROUP, replace(now, makeup_seats=1),
                            actor=SETUP)  # fmt: skip
        return kid


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_office_joins_a_club_student_to_another_group_lesson(
    browser: Any, site: str, demo_school: Engine, language: str
) -> None:
    kid = _absent_from_the_club(demo_school)
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="ja-JP" if language == "ja" else "en-GB"
    )
    page = context.new_page()
    _sign_in(page, site)
    page.goto(f"{site}/students/{kid}/week")
    page.locator("#credits a[id^=find-slot-]").first.click()  # 1
    page.wait_for_load_state()
    rows = page.locator("#slots tbody tr")
    assert rows.count() >= 1
    first = rows.first.inner_text()
    assert "Grammar club" in first
    assert "1" in first  # one seat left: the make-up seat
    words = page.locator("main").inner_text()
    assert ("残り席数" if language == "ja" else "Seats left") in words
    shot(page, f"makeup-group-{language}")
    assert axe_violations(page) == []
    page.click("#book-1")  # 2
    page.wait_for_load_state()
    assert "done=makeup-join" in page.url
    assert page.locator("#done").is_visible()
    assert page.locator("#makeup-for").is_visible()
    page.goto(f"{site}/students/{kid}/week")
    assert _number(page.locator("#balance").inner_text()) == 0
    context.close()
