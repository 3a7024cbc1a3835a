"""Sending: every message reaches its receiver once, retries keep their key, a refusal
goes to the dead letters with its reason, and eight senders never send one twice."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from komawari.db.engine import session_scope
from komawari.notices import drain, send
from komawari.notices.channels.email import message_id
from komawari.notices.models import NoticeDelivery, NoticeMessage
from komawari.web.app import create_app
from komawari_soak.fakes.line import FakeLine
from komawari_soak.fakes.smtp import FakeSmtp
from tests.factories import bookings, contacts
from tests.factories.branches import branch
from tests.factories.people import student, teacher
from tests.factories.world import World, bearer, one_off_body

DAY = date(2030, 12, 5)
FRIEND = "U" + "a" * 32


def _cancelled(engine: Engine, families: int = 1, **guardian: object) -> None:
    """Cancel one lesson of each of `families` students (each with a guardian), drained."""
    with session_scope(engine) as db:
        b, t = branch(db), teacher(db)
        for n in range(families):
            s = student(db)
            contacts.guardian(db, s.id, **guardian)
            start = 8 * 60 + 7 * n
            lesson = bookings.one_off(
                db, branch_id=b.id, teacher_id=t.id, student_id=s.id, date=DAY.isoformat(),
                start_time=f"{start // 60:02d}:{start % 60:02d}",
                end_time=f"{(start + 5) // 60:02d}:{(start + 5) % 60:02d}",
            )  # fmt: skip
            bookings.cancel(db, lesson.id)
    while True:
        with session_scope(engine) as db:
            if drain.drain(db).messages == 0:
                break


def _statuses(engine: Engine) -> list[str]:
    with session_scope(engine) as db:
        return [
            s.value for s in db.scalars(select(NoticeMessage.status).order_by(NoticeMessage.id))
        ]


def _deliveries(db: Session) -> list[tuple[str, int | None]]:
    rows = db.execute(
        select(NoticeDelivery.outcome, NoticeDelivery.status_code).order_by(NoticeDelivery.id)
    )
    return [(o, c) for o, c in rows]


def _due_now(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE notice_messages SET next_attempt_at = now() - interval '1 s'"))


def test_an_email_goes_once_with_its_derived_message_id(
    committed_engine: Engine, channels: tuple[FakeSmtp, FakeLine]
) -> None:
    smtp, _ = channels
    _cancelled(committed_engine)
    assert send.send_due(committed_engine).sent == 1
    assert send.send_due(committed_engine).sent == 0, "sent is sent"
    [mail] = smtp.messages
    with session_scope(committed_engine) as db:
        message = db.scalars(select(NoticeMessage)).one()
        assert mail["Message-ID"] == message_id(str(message.key))
        assert _deliveries(db) == [("sent", 250)]
    assert mail["From"] == "school@example.jp"
    assert mail.get_body(("plain",)) is not None
    assert mail.get_body(("html",)) is not None


def test_a_passing_failure_is_tried_again_later_and_a_refusal_is_a_dead_letter(
    committed_engine: Engine, channels: tuple[FakeSmtp, FakeLine]
) -> None:
    smtp, _ = channels
    _cancelled(committed_engine, families=2)
    smtp.fail_next(1)  # 451 to the first
    done = send.send_due(committed_engine)
    assert (done.sent, done.retried) == (1, 1)
    assert send.send_due(committed_engine).sent == 0, "the retry waits its backoff"
    _due_now(committed_engine)
    smtp.reject_next(1)  # 550: never
    assert send.send_due(committed_engine).dead == 1
    assert _statuses(committed_engine) == ["dead", "sent"] or _statuses(committed_engine) == [
        "sent", "dead"
    ]  # fmt: skip
    with session_scope(committed_engine) as db:
        dead = db.scalars(select(NoticeMessage).where(NoticeMessage.status == "dead")).one()
        assert dead.last_error
        assert [o for o, _ in _deliveries(db)] == ["retry", "sent", "dead"]
    assert len(smtp.messages) == 1


def test_the_last_attempt_goes_to_the_dead_letters(
    committed_engine: Engine, channels: tuple[FakeSmtp, FakeLine], monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp, _ = channels
    monkeypatch.setenv("KOMAWARI_NOTICE_MAX_ATTEMPTS", "2")
    from komawari import config

    config.get_settings.cache_clear()
    _cancelled(committed_engine)
    smtp.fail_next(5)
    assert send.send_due(committed_engine).retried == 1
    _due_now(committed_engine)
    assert send.send_due(committed_engine).dead == 1
    assert _statuses(committed_engine) == ["dead"]


def test_a_line_push_lost_after_acceptance_is_not_sent_twice(
    committed_engine: Engine, channels: tuple[FakeSmtp, FakeLine]
) -> None:
    smtp, line = channels
    line.add_user(FRIEND)
    _cancelled(committed_engine, email=None, line_user_id=FRIEND)
    line.accept_then_drop_next(1)  # LINE took it; the answer never came
    assert send.send_due(committed_engine).retried == 1
    _due_now(committed_engine)
    assert send.send_due(committed_engine).sent == 1
    with session_scope(committed_engine) as db:
        message = db.scalars(select(NoticeMessage)).one()
        assert [o for o, _ in _deliveries(db)] == ["retry", "already"]
    [push] = line.pushes
    assert push.retry_key == str(message.key)
    assert push.to == FRIEND
    assert smtp.messages == [], "LINE only: the contact has no email"


def test_a_429_pauses_line_for_every_sender_and_a_stranger_is_a_dead_letter(
    committed_engine: Engine, channels: tuple[FakeSmtp, FakeLine]
) -> None:
    _, line = channels
    line.add_user(FRIEND)
    _cancelled(committed_engine, email=None, line_user_id=FRIEND)
    line.fail_next(1, status=429)
    assert send.send_due(committed_engine).retried == 1
    _due_now(committed_engine)
    assert send.send_due(committed_engine).sent == 0, "paused: no LINE push goes"
    with committed_engine.begin() as conn:
        conn.execute(text("UPDATE notice_channel_state SET paused_until = now()"))
    assert send.send_due(committed_engine).sent == 1
    _cancelled(committed_engine, email=None, line_user_id="U" + "b" * 32)  # not a friend
    assert send.send_due(committed_engine).dead == 1
    with session_scope(committed_engine) as db:
        assert _deliveries(db)[-1] == ("dead", 400)


@pytest.mark.concurrency
def test_eight_senders_never_send_one_message_twice(
    committed_engine: Engine, channels: tuple[FakeSmtp, FakeLine]
) -> None:
    smtp, _ = channels
    _cancelled(committed_engine, families=120)
    assert len(_statuses(committed_engine)) == 120
    start = threading.Barrier(8)

    def sender() -> None:
        start.wait()
        send.send_due(committed_engine)

    threads = [threading.Thread(target=sender) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _statuses(committed_engine) == ["sent"] * 120
    assert len(smtp.messages) == 120
    assert smtp.duplicates() == {}


@pytest.mark.concurrency
def test_eight_drainers_make_each_persons_message_once(
    committed_engine: Engine, channels: tuple[FakeSmtp, FakeLine]
) -> None:
    with session_scope(committed_engine) as db:
        b, t = branch(db), teacher(db)
        for n in range(60):
            s = student(db)
            contacts.guardian(db, s.id)
            hour, minute = 8 + n // 6, n % 6 * 10
            lesson = bookings.one_off(db, branch_id=b.id, teacher_id=t.id, student_id=s.id,
                                      date=DAY.isoformat(), start_time=f"{hour:02d}:{minute:02d}",
                                      end_time=f"{hour:02d}:{minute + 5:02d}")  # fmt: skip
            bookings.cancel(db, lesson.id)
    start = threading.Barrier(8)

    def drainer() -> None:
        start.wait()
        while True:
            with session_scope(committed_engine) as db:
                if drain.drain(db, limit=7).messages == 0:
                    return

    threads = [threading.Thread(target=drainer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with session_scope(committed_engine) as db:
        per_contact = db.execute(
            text("SELECT contact_id, count(*) FROM notice_messages GROUP BY contact_id")
        ).all()
        waiting = db.scalar(text("SELECT count(*) FROM notice_intents WHERE settled_at IS NULL"))
    assert len(per_contact) == 60
    assert {n for _, n in per_contact} == {1}
    assert waiting == 0


def test_a_closure_of_200_lessons_of_120_families_sends_120_messages(
    committed_engine: Engine, channels: tuple[FakeSmtp, FakeLine]
) -> None:
    smtp, _ = channels
    with session_scope(committed_engine) as db:
        b = branch(db)
        teachers = [teacher(db) for _ in range(10)]
        lessons = 0
        for family in range(120):
            children = [student(db)] + ([student(db)] if family < 80 else [])
            contacts.guardian(db, *(c.id for c in children), language="en")
            for child in children:
                t = teachers[lessons % 10]
                hour, minute = 8 + (lessons // 10) // 2, (lessons // 10) % 2 * 30
                bookings.one_off(db, branch_id=b.id, teacher_id=t.id, student_id=child.id,
                                 date=DAY.isoformat(), start_time=f"{hour:02d}:{minute:02d}",
                                 end_time=f"{hour:02d}:{minute + 25:02d}")  # fmt: skip
                lessons += 1
        branch_id = b.id
    assert lessons == 200
    with session_scope(committed_engine) as db:
        from komawari.branches import service as branches

        cancelled = branches.add_closure(db, branch_id, DAY, reason="typhoon", actor=bookings.ACTOR)
    assert len(cancelled) == 200
    with session_scope(committed_engine) as db:
        assert drain.drain(db, limit=500).messages == 120
    assert send.send_due(committed_engine).sent == 120
    assert len(smtp.messages) == 120
    lines = sorted(
        str(m.get_body(("plain",)).get_content()).count("school is closed")  # type: ignore[union-attr]
        for m in smtp.messages
    )
    assert lines == [1] * 40 + [2] * 80, "each family's message lists each of its lessons"


def test_the_servers_worker_tells_a_family_of_a_cancelled_lesson(
    committed_engine: Engine, channels: tuple[FakeSmtp, FakeLine], world: World
) -> None:
    smtp, _ = channels
    with session_scope(committed_engine) as db:
        family = contacts.guardian(db, world.student_1, language="en")
    app = create_app(committed_engine, periodic=True)
    with TestClient(app) as client:
        lesson = client.post(
            "/api/class-sessions", json=one_off_body(world), headers=bearer(world.admin)
        ).json()["id"]
        cancel = client.post(
            f"/api/class-sessions/{lesson}/cancel", json={"reason": "teacher ill"},
            headers=bearer(world.admin),
        )  # fmt: skip
        assert cancel.status_code == 200
        deadline = time.monotonic() + 40  # the outbox ticks every ten seconds
        while time.monotonic() < deadline and smtp.count == 0:
            time.sleep(0.2)
    [mail] = smtp.messages
    assert mail["To"] == family.email
    assert "Cancelled:" in str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]
