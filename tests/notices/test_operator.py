"""The outbox for the operator: the page shows the queue, the dead letters with their
reasons and the latest attempts, and "send again" puts a dead letter back in the queue;
the API says the same. Staff see none of it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from komawari.auth.enums import Role
from komawari.db.engine import session_scope
from komawari.notices.enums import Channel, MessageStatus
from komawari.notices.models import NoticeDelivery, NoticeMessage
from tests.factories import contacts
from tests.factories.people import student
from tests.factories.world import World, bearer
from tests.web.pages import csrf_of, make_user, sign_in


def _messages(engine: Engine) -> tuple[int, int]:
    """A dead letter and a sent message, each with its attempt."""
    with session_scope(engine) as s:
        family = contacts.guardian(s, student(s).id, name="Tanaka Yoko")
        made = []
        for status, error in ((MessageStatus.DEAD, "550 5.1.1 no such user"),
                              (MessageStatus.SENT, None)):  # fmt: skip
            message = NoticeMessage(
                contact_id=family.id, channel=Channel.EMAIL, address=family.email,
                language="ja", subject=f"授業のお知らせ {status.value}", body_text="・【休講】",
                kinds=["cancel"], status=status, attempts=1, last_error=error,
            )  # fmt: skip
            s.add(message)
            s.flush()
            s.add(NoticeDelivery(message_id=message.id, attempt=1,
                                 outcome="dead" if error else "sent",
                                 status_code=550 if error else 250, answer=error))  # fmt: skip
            made.append(message.id)
        return made[0], made[1]


def test_the_operator_sends_a_dead_letter_again_from_the_page(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    dead, sent = _messages(committed_engine)
    make_user(committed_engine, "op", Role.ADMIN)
    assert sign_in(client, "op") == 303
    page = client.get("/operator/notices", headers={"Accept-Language": "ja"})
    assert page.status_code == 200
    assert "送信できなかったメッセージ" in page.text
    assert "550 5.1.1 no such user" in page.text, "the reason is shown"
    assert "Tanaka Yoko" in page.text
    assert f'action="/operator/notices/{sent}/send-again"' not in page.text, "sent: no button"
    again = client.post(
        f"/operator/notices/{dead}/send-again",
        data={"csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert again.status_code == 303
    with session_scope(committed_engine) as s:
        message = s.get_one(NoticeMessage, dead)
        assert (message.status, message.attempts) == (MessageStatus.PENDING, 0)
    done = client.get(again.headers["location"], headers={"Accept-Language": "ja"})
    assert f"メッセージ {dead} を送信待ちに戻しました" in done.text


def test_the_api_counts_the_outbox_and_refuses_to_resend_a_sent_message(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    dead, sent = _messages(committed_engine)
    admin = bearer(world.admin)
    counts = client.get("/api/notices/outbox", headers=admin).json()
    assert (counts["messages_dead"], counts["messages_sent"]) == (1, 1)
    listed = client.get("/api/notices/messages?status=dead", headers=admin).json()["items"]
    assert [(m["id"], m["last_error"]) for m in listed] == [(dead, "550 5.1.1 no such user")]
    refused = client.post(f"/api/notices/messages/{sent}/send-again", headers=admin)
    assert refused.status_code == 409
    assert refused.json()["code"] == "notice.not-stuck"
    assert client.post("/api/notices/messages/999999/send-again", headers=admin).status_code == 404
    assert client.post(f"/api/notices/messages/{dead}/send-again", headers=admin).status_code == 200
    with session_scope(committed_engine) as s:
        statuses = s.scalars(select(NoticeMessage.status).order_by(NoticeMessage.id)).all()
    assert statuses == [MessageStatus.PENDING, MessageStatus.SENT]


def test_staff_see_no_outbox(client: TestClient, world: World, committed_engine: Engine) -> None:
    _messages(committed_engine)
    assert client.get("/api/notices/outbox", headers=bearer(world.staff_a)).status_code == 403
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303
    assert client.get("/operator/notices").status_code in (403, 404)
