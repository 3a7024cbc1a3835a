"""Notices to a family, in a real browser: the office adds a student's mother as a contact,
turns her quiet hours off and makes her LINE code; a lesson of the student's is cancelled
from its page; the message is kept while email is not set up, and the operator, once SMTP
is set up, sends it again from the notices page. The loopback SMTP server receives it, in
the language the mother reads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from komawari import config
from komawari.audit.service import Actor
from komawari.branches.models import Branch
from komawari.db.engine import session_scope
from komawari.notices import drain, send
from komawari.notices.enums import MessageStatus
from komawari.notices.models import NoticeMessage
from komawari.people.models import Student, Teacher
from komawari.sessions import service as sessions
from komawari.sessions.schemas import SessionCreate
from komawari_soak.fakes.smtp import FakeSmtp
from tests.browser.conftest import axe_violations, shot
from tests.browser.test_staff_pages import _sign_in

SETUP = Actor("test", "setup")
FRIEND = "https://line.me/R/ti/p/@komawari-demo"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSmtp]:
    """A loopback SMTP server, not yet known to Komawari; LINE's friend link is set."""
    monkeypatch.setenv("KOMAWARI_LINE_FRIEND_URL", FRIEND)
    monkeypatch.delenv("KOMAWARI_SMTP_URL", raising=False)
    monkeypatch.delenv("KOMAWARI_LINE_CHANNEL_TOKEN", raising=False)
    config.get_settings.cache_clear()
    with FakeSmtp() as server:
        yield server
    config.get_settings.cache_clear()


def _lesson(engine: Engine) -> tuple[int, int]:
    """A private lesson of Aoi's with Sato Sensei a week from today; (lesson, student)."""
    with session_scope(engine) as s:
        branch = s.scalars(select(Branch).order_by(Branch.id)).first()
        assert branch is not None
        sato = s.scalars(select(Teacher).where(Teacher.name == "Sato Sensei")).one()
        aoi = s.scalars(select(Student).where(Student.name == "Aoi")).one()
        day = datetime.now(UTC).astimezone(ZoneInfo(branch.time_zone)).date() + timedelta(7)
        made = sessions.create_one_off(
            s,
            session_in=SessionCreate(
                branch_id=branch.id, teacher_id=sato.id, student_id=aoi.id, date=day,
                start_time=time(10, 5), end_time=time(10, 55),
            ),
            actor=SETUP,
        )  # fmt: skip
        return made.id, aoi.id


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_office_adds_a_mother_and_the_operator_sends_her_kept_notice_again(
    browser: Any,
    site: str,
    demo_school: Engine,
    smtp: FakeSmtp,
    monkeypatch: pytest.MonkeyPatch,
    language: str,
) -> None:
    lesson, aoi = _lesson(demo_school)
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="ja-JP" if language == "ja" else "en-GB"
    )
    page = context.new_page()
    _sign_in(page, site)

    # The office: Aoi's week, the contact form, without a word of JSON.
    page.goto(f"{site}/students/{aoi}/week")
    page.fill("#contact-add #name", "Mori Hanako")
    page.select_option("#contact-add #relation", "mother")
    page.fill("#contact-add #email", "hanako@example.jp")
    page.select_option("#contact-add #language", language)
    page.click("#contact-add button[type=submit]")
    page.wait_for_load_state()
    listed = page.locator("#contact-list").inner_text()
    assert "Mori Hanako" in listed
    assert ("母" if language == "ja" else "Mother") in listed
    page.click("#contact-list a:text('Mori Hanako')")
    page.wait_for_load_state()
    assert "/contacts/" in page.url

    # Her quiet hours off (the same time twice), and a LINE code to hand her.
    page.fill("#quiet_start", "00:00")
    page.fill("#quiet_end", "00:00")
    page.click("#contact-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#done").is_visible()
    page.click("#line form button[type=submit]")
    page.wait_for_load_state()
    code = page.locator("#line-code").inner_text().strip()
    assert len(code) == 8
    assert page.locator("#line-qr svg").count() == 1
    assert page.locator(f"#line-qr a[href='{FRIEND}']").count() == 1
    shot(page, f"contact-{language}")
    assert axe_violations(page) == []

    # The lesson is cancelled from its page; the drain makes her message, kept: no SMTP.
    page.goto(f"{site}/sessions/{lesson}")
    page.fill("#cancel-form #reason", "先生の体調不良" if language == "ja" else "Teacher ill")
    page.click("#cancel-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#done").is_visible()
    with session_scope(demo_school) as s:
        made = drain.drain(s, now=datetime.now(UTC) + timedelta(hours=1))
    assert made.messages == 1

    # The operator: the message is kept, not sent; SMTP set up, then "Send again".
    page.goto(f"{site}/operator/notices")
    held = page.locator("#held tbody tr[id^=message-]")
    assert held.count() == 1
    assert "Mori Hanako" in held.inner_text()
    shot(page, f"notices-operator-{language}")
    assert axe_violations(page) == []
    monkeypatch.setenv("KOMAWARI_SMTP_URL", smtp.url)
    monkeypatch.setenv("KOMAWARI_MAIL_FROM", "school@example.jp")
    config.get_settings.cache_clear()
    held.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#done").is_visible()
    assert page.locator("#queue tbody tr[id^=message-]").count() == 1
    assert page.locator("#held tbody tr[id^=message-]").count() == 0

    sent = send.send_due(demo_school)
    assert sent.total == 1
    [mail] = smtp.messages
    assert mail.rcpt_tos == ["hanako@example.jp"]
    body = mail.get_body(("plain",))
    assert body is not None
    words = body.get_content()
    assert "Aoi" in words
    assert ("【休講】" if language == "ja" else "Cancelled:") in words
    with session_scope(demo_school) as s:
        [(message_id, status)] = s.execute(select(NoticeMessage.id, NoticeMessage.status)).all()
    assert status == MessageStatus.SENT
    page.reload()
    assert page.locator("#queue tbody tr[id^=message-]").count() == 0
    assert page.locator(f"#deliveries a[href='#message-{message_id}']").count() == 1
    context.close()
