"""Linking LINE: a one-time code that expires, and LINE's webhook, believed only when it
is signed with the channel secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from komawari import config
from komawari.audit.models import AuditEvent
from komawari.audit.service import Actor
from komawari.db.engine import session_scope
from komawari.notices import line_link
from komawari.notices.line_link import ALPHABET, LENGTH, Bound
from komawari.notices.models import Contact, LineLinkCode
from tests.factories import contacts as contact_rows
from tests.factories import people
from tests.factories.world import World, bearer
from tests.web.test_refusal_edge import fingerprint

ACTOR = Actor("test", "pytest")
SECRET = "line-channel-secret"
MOTHER = "U" + "1" * 32
FATHER = "U" + "2" * 32


# Codes.


def test_a_code_is_short_unambiguous_and_new_each_time(db: Session) -> None:
    contact = contact_rows.guardian(db, people.student(db).id)
    codes = {line_link.new_code(db, contact_id=contact.id, actor=ACTOR).code for _ in range(30)}
    assert len(codes) == 30
    assert all(len(c) == LENGTH and set(c) <= set(ALPHABET) for c in codes)
    assert not set("01IO") & set(ALPHABET)
    # A new code ends the contact's unused ones: only the last one is left.
    left = db.scalars(select(LineLinkCode.code).where(LineLinkCode.contact_id == contact.id))
    assert len(list(left)) == 1


def test_a_code_is_read_as_typed_on_a_phone() -> None:
    assert line_link.normalise(" abcd-efgh ") == "ABCDEFGH"
    assert line_link.normalise("ABCD EFGH") == "ABCDEFGH"
    assert line_link.normalise("ABCDEFG") is None  # too short
    assert line_link.normalise("ABCDEFGHJ") is None  # too long
    assert line_link.normalise("ABCDEFG0") is None  # 0 is never in a code
    assert line_link.normalise("こんにちは、よろしく") is None


def test_a_code_binds_once(db: Session) -> None:
    contact = contact_rows.guardian(db, people.student(db).id)
    code = line_link.new_code(db, contact_id=contact.id, actor=ACTOR).code
    assert line_link.bind(db, typed=code.lower(), line_user_id=MOTHER, actor=ACTOR) == Bound.LINKED
    assert contact.line_user_id == MOTHER
    assert line_link.live_code(db, contact.id) is None
    # Used: from the same account or another, it does nothing any more.
    assert line_link.bind(db, typed=code, line_user_id=FATHER, actor=ACTOR) == Bound.UNKNOWN
    assert line_link.bind(db, typed=code, line_user_id=MOTHER, actor=ACTOR) == Bound.UNKNOWN
    assert contact.line_user_id == MOTHER
    events = db.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == contact.id))
    assert list(events) == ["contact.line_code", "contact.line_linked"]


def test_a_code_expires_after_its_hours(db: Session) -> None:
    contact = contact_rows.guardian(db, people.student(db).id)
    start = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        code = line_link.new_code(db, contact_id=contact.id, actor=ACTOR).code
    assert code_row(db, code).expires_at == start + timedelta(hours=24)
    with time_machine.travel(start + timedelta(hours=24, seconds=1), tick=False):
        assert line_link.live_code(db, contact.id) is None
        assert line_link.bind(db, typed=code, line_user_id=MOTHER, actor=ACTOR) == Bound.UNKNOWN
    assert contact.line_user_id is None
    with time_machine.travel(start + timedelta(hours=23, minutes=59), tick=False):
        assert line_link.live_code(db, contact.id) is not None
        assert line_link.bind(db, typed=code, line_user_id=MOTHER, actor=ACTOR) == Bound.LINKED


def test_the_codes_hours_are_a_setting(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOMAWARI_LINE_LINK_CODE_HOURS", "2")
    config.get_settings.cache_clear()
    try:
        contact = contact_rows.guardian(db, people.student(db).id)
        start = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)
        with time_machine.travel(start, tick=False):
            code = line_link.new_code(db, contact_id=contact.id, actor=ACTOR)
        assert code.expires_at == start + timedelta(hours=2)
    finally:
        monkeypatch.delenv("KOMAWARI_LINE_LINK_CODE_HOURS")
        config.get_settings.cache_clear()


def test_a_replaced_code_no_longer_binds(db: Session) -> None:
    contact = contact_rows.guardian(db, people.student(db).id)
    old = line_link.new_code(db, contact_id=contact.id, actor=ACTOR).code
    new = line_link.new_code(db, contact_id=contact.id, actor=ACTOR).code
    assert line_link.bind(db, typed=old, line_user_id=MOTHER, actor=ACTOR) == Bound.UNKNOWN
    assert line_link.bind(db, typed=new, line_user_id=MOTHER, actor=ACTOR) == Bound.LINKED


def test_an_account_already_another_contacts_is_refused_and_the_code_kept(db: Session) -> None:
    student = people.student(db)
    mother = contact_rows.guardian(db, student.id, line_user_id=MOTHER)
    other = contact_rows.guardian(db, student.id)
    code = line_link.new_code(db, contact_id=other.id, actor=ACTOR).code
    assert line_link.bind(db, typed=code, line_user_id=MOTHER, actor=ACTOR) == Bound.TAKEN
    assert (mother.line_user_id, other.line_user_id) == (MOTHER, None)
    assert code_row(db, code).used_at is None
    assert line_link.bind(db, typed=code, line_user_id=FATHER, actor=ACTOR) == Bound.LINKED


def test_a_second_code_from_the_same_account_uses_it_up_and_changes_nothing(
    db: Session,
) -> None:
    contact = contact_rows.guardian(db, people.student(db).id, line_user_id=MOTHER)
    code = line_link.new_code(db, contact_id=contact.id, actor=ACTOR).code
    assert line_link.bind(db, typed=code, line_user_id=MOTHER, actor=ACTOR) == Bound.ALREADY
    assert code_row(db, code).used_at is not None


def test_unfollowing_forgets_the_account(db: Session) -> None:
    contact = contact_rows.guardian(db, people.student(db).id, line_user_id=MOTHER)
    assert line_link.unbind(db, line_user_id=MOTHER, actor=ACTOR) == contact.id
    assert contact.line_user_id is None
    assert line_link.unbind(db, line_user_id=MOTHER, actor=ACTOR) is None


def code_row(db: Session, code: str) -> LineLinkCode:
    db.expire_all()
    return db.get_one(LineLinkCode, code)


# The webhook.


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("KOMAWARI_LINE_CHANNEL_SECRET", SECRET)
    config.get_settings.cache_clear()
    yield SECRET
    config.get_settings.cache_clear()


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {
        "X-Line-Signature": base64.b64encode(digest).decode(),
        "Content-Type": "application/json",
    }


def text_event(user: str, text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "mode": "active",
        "timestamp": 1765155600000,
        "source": {"type": "user", "userId": user},
        "webhookEventId": "01JE",
        "deliveryContext": {"isRedelivery": False},
        "replyToken": "r",
        "message": {"id": "1", "type": "text", "quoteToken": "q", "text": text},
    }


def body_of(*events: dict[str, Any]) -> bytes:
    return json.dumps({"destination": "Uschool", "events": list(events)}).encode()


def a_code(client: TestClient, world: World) -> tuple[int, str]:
    made = client.post(f"/api/students/{world.student_1}/contacts",
                       json={"name": "Yoko", "relation": "mother"},
                       headers=bearer(world.admin)).json()  # fmt: skip
    code = client.post(f"/api/contacts/{made['id']}/line-code", headers=bearer(world.admin))
    assert code.status_code == 201
    return int(made["id"]), str(code.json()["code"])


def line_of(engine: Engine, contact_id: int) -> str | None:
    with session_scope(engine) as s:
        return s.get_one(Contact, contact_id).line_user_id


def test_a_signed_code_links_the_sender(
    client: TestClient, world: World, committed_engine: Engine, secret: str
) -> None:
    contact_id, code = a_code(client, world)
    body = body_of(text_event(MOTHER, f" {code[:4]}-{code[4:]} "))
    answer = client.post("/api/line/webhook", content=body, headers=signed(body))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"linked": 1, "unlinked": 0, "ignored": 0}
    assert line_of(committed_engine, contact_id) == MOTHER
    # LINE delivers it again: nothing more happens, and it is still 200.
    again = client.post("/api/line/webhook", content=body, headers=signed(body))
    assert again.status_code == 200
    assert again.json() == {"linked": 0, "unlinked": 0, "ignored": 1}
    with session_scope(committed_engine) as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == contact_id))
        assert "contact.line_linked" in list(actions)
        actor = s.scalars(
            select(AuditEvent.actor).where(AuditEvent.action == "contact.line_linked")
        ).one()
        assert actor == "line:webhook"


@pytest.mark.parametrize("how", ["wrong secret", "other body", "missing", "garbage"])
def test_a_body_not_signed_by_line_is_400_and_changes_nothing(
    client: TestClient, world: World, committed_engine: Engine, secret: str, how: str
) -> None:
    contact_id, code = a_code(client, world)
    body = body_of(text_event(MOTHER, code))
    headers = {
        "wrong secret": signed(body, "not-the-secret"),
        "other body": signed(body_of(text_event(MOTHER, "hello"))),
        "missing": {"Content-Type": "application/json"},
        "garbage": {"X-Line-Signature": "%%not base64%%", "Content-Type": "application/json"},
    }[how]
    before = fingerprint(committed_engine)
    answer = client.post("/api/line/webhook", content=body, headers=headers)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "line.bad-signature"
    assert fingerprint(committed_engine) == before
    assert line_of(committed_engine, contact_id) is None


def test_without_the_channel_secret_the_webhook_is_503_and_changes_nothing(
    client: TestClient, world: World, committed_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KOMAWARI_LINE_CHANNEL_SECRET", raising=False)
    config.get_settings.cache_clear()
    _, code = a_code(client, world)
    body = body_of(text_event(MOTHER, code))
    before = fingerprint(committed_engine)
    answer = client.post("/api/line/webhook", content=body, headers=signed(body))
    assert answer.status_code == 503
    assert answer.json()["code"] == "line.not-set-up"
    assert fingerprint(committed_engine) == before


def test_events_that_do_nothing_are_still_200(
    client: TestClient, world: World, committed_engine: Engine, secret: str
) -> None:
    _, code = a_code(client, world)
    with session_scope(committed_engine) as s:
        s.execute(
            LineLinkCode.__table__.update()
            .where(LineLinkCode.code == code)
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    before = fingerprint(committed_engine)
    body = body_of(
        text_event(MOTHER, code),  # expired
        text_event(MOTHER, "ZZZZZZZZ"),  # no such code
        text_event(MOTHER, "おはようございます"),  # chat
        {"type": "follow", "source": {"type": "user", "userId": MOTHER}, "replyToken": "r"},
        {
            "type": "message",
            "source": {"type": "group", "groupId": "C1"},
            "message": {"type": "text", "text": code},
        },
        {
            "type": "message",
            "source": {"type": "user", "userId": MOTHER},
            "message": {"type": "sticker", "packageId": "1"},
        },
        {"type": "unfollow", "source": {"type": "user", "userId": FATHER}},  # never linked
        {"no": "type"},
    )
    answer = client.post("/api/line/webhook", content=body, headers=signed(body))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"linked": 0, "unlinked": 0, "ignored": 7}
    assert fingerprint(committed_engine) == before
    verify = body_of()  # LINE's console "Verify": no events
    assert client.post("/api/line/webhook", content=verify, headers=signed(verify)).json() == {
        "linked": 0, "unlinked": 0, "ignored": 0,
    }  # fmt: skip


def test_an_unfollow_unbinds_the_account(
    client: TestClient, world: World, committed_engine: Engine, secret: str
) -> None:
    contact_id, code = a_code(client, world)
    link = body_of(text_event(MOTHER, code))
    client.post("/api/line/webhook", content=link, headers=signed(link))
    assert line_of(committed_engine, contact_id) == MOTHER
    gone = body_of({"type": "unfollow", "source": {"type": "user", "userId": MOTHER}})
    answer = client.post("/api/line/webhook", content=gone, headers=signed(gone))
    assert answer.json() == {"linked": 0, "unlinked": 1, "ignored": 0}
    assert line_of(committed_engine, contact_id) is None
    with session_scope(committed_engine) as s:
        actions = list(
            s.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == contact_id))
        )
    assert actions[-1] == "contact.line_unlinked"


def test_a_sender_already_another_contacts_is_not_bound_over_the_webhook(
    client: TestClient, world: World, committed_engine: Engine, secret: str
) -> None:
    first, code = a_code(client, world)
    body = body_of(text_event(MOTHER, code))
    client.post("/api/line/webhook", content=body, headers=signed(body))
    made = client.post(f"/api/students/{world.student_2}/contacts",
                       json={"name": "Someone else", "relation": "father"},
                       headers=bearer(world.admin)).json()  # fmt: skip
    second = client.post(f"/api/contacts/{made['id']}/line-code", headers=bearer(world.admin))
    again = body_of(text_event(MOTHER, second.json()["code"]))
    answer = client.post("/api/line/webhook", content=again, headers=signed(again))
    assert answer.json() == {"linked": 0, "unlinked": 0, "ignored": 1}
    assert (line_of(committed_engine, first), line_of(committed_engine, made["id"])) == (
        MOTHER,
        None,
    )


def test_a_line_code_refuses_an_idempotency_key(client: TestClient, world: World) -> None:
    contact_id, _ = a_code(client, world)
    headers = bearer(world.admin) | {"Idempotency-Key": "once"}
    answer = client.post(f"/api/contacts/{contact_id}/line-code", headers=headers)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "Idempotency-Key"
