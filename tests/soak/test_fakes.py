"""The loopback fakes of LINE and SMTP, driven by real clients: line-bot-sdk, httpx,
smtplib and aiosmtplib. Each behaviour and each fault is seen as a client sees it."""

from __future__ import annotations

import json
import re
import signal
import smtplib
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import aiohttp
import aiosmtplib
import httpx
import pytest
import urllib3
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    ApiResponse,
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    MessagingApi,
    PushMessageRequest,
    TextMessage,
)
from linebot.v3.messaging.exceptions import ServiceException, UnauthorizedException
from linebot.v3.webhooks import FollowEvent, MessageEvent, TextMessageContent, UnfollowEvent

from komawari_soak.fakes import FakeLine, FakeSmtp
from komawari_soak.fakes.line import (
    follow_event,
    sign,
    text_message_event,
    unfollow_event,
    webhook_body,
)
from tests.factories import aio

pytestmark = pytest.mark.ci_suite("local")  # no database

ALICE = "U" + "a1" * 16
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def line() -> Iterator[FakeLine]:
    with FakeLine() as fake:
        fake.add_user(ALICE)
        yield fake


@pytest.fixture
def api(line: FakeLine) -> Iterator[MessagingApi]:
    with ApiClient(Configuration(host=line.url, access_token=line.token)) as client:
        yield MessagingApi(client)


def push(api: MessagingApi, key: str | None = None, to: str = ALICE, **kw: object) -> ApiResponse:
    request = PushMessageRequest(to=to, messages=[TextMessage(text="明日 17:00 数学")])
    return api.push_message_with_http_info(request, x_line_retry_key=key, **kw)


def refused(api: MessagingApi, key: str | None = None, to: str = ALICE) -> ApiException:
    with pytest.raises(ApiException) as caught:
        push(api, key, to)
    return caught.value


def test_a_push_through_the_sdk_is_answered_as_line_does_and_recorded(
    line: FakeLine, api: MessagingApi
) -> None:
    key = str(uuid.uuid4())
    answer = push(api, key)
    assert answer.status_code == 200
    assert UUID.fullmatch(answer.headers["x-line-request-id"])
    (sent,) = answer.data.sent_messages
    assert sent.id.isdigit()
    assert sent.quote_token
    (recorded,) = line.pushes
    assert (recorded.retry_key, recorded.to, recorded.sent_ids) == (key, ALICE, (sent.id,))
    assert recorded.messages == [{"type": "text", "text": "明日 17:00 数学"}]
    assert recorded.request_id == answer.headers["x-line-request-id"]
    assert abs(recorded.at - time.time()) < 5
    assert line.requests == 1
    assert push(api).data.sent_messages[0].id != sent.id  # without a key: a new push


def test_a_wrong_or_missing_token_gets_401_and_nothing_is_recorded(line: FakeLine) -> None:
    with (
        ApiClient(Configuration(host=line.url, access_token="wrong")) as client,
        pytest.raises(UnauthorizedException) as caught,
    ):
        push(MessagingApi(client), str(uuid.uuid4()))
    assert caught.value.status == 401
    assert json.loads(caught.value.body)["message"].startswith("Authentication failed")
    bare = httpx.post(f"{line.url}/v2/bot/message/push", json={"to": ALICE, "messages": []})
    assert bare.status_code == 401
    assert line.pushes == []
    assert line.requests == 2


def test_a_malformed_retry_key_gets_400(line: FakeLine, api: MessagingApi) -> None:
    error = refused(api, "not-a-uuid")
    assert error.status == 400
    assert "X-Line-Retry-Key" in json.loads(error.body)["message"]
    assert line.pushes == []


def test_a_retry_key_already_accepted_gets_409_naming_the_first_request(
    line: FakeLine, api: MessagingApi
) -> None:
    key = str(uuid.uuid4())
    first = push(api, key)
    error = refused(api, key)
    assert error.status == 409
    assert error.headers["x-line-accepted-request-id"] == first.headers["x-line-request-id"]
    assert error.headers["x-line-request-id"] != first.headers["x-line-request-id"]
    body = json.loads(error.body)
    assert body["message"] == "The retry key is already accepted"
    assert body["sentMessages"][0]["id"] == first.data.sent_messages[0].id
    assert len(line.pushes) == 1


def test_racing_pushes_with_one_retry_key_are_accepted_once(line: FakeLine) -> None:
    key, statuses = str(uuid.uuid4()), []
    headers = {"Authorization": f"Bearer {line.token}", "X-Line-Retry-Key": key}
    body = {"to": ALICE, "messages": [{"type": "text", "text": "x"}]}

    def send() -> None:
        statuses.append(httpx.post(f"{line.url}/v2/bot/message/push", json=body, headers=headers))

    threads = [threading.Thread(target=send) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in statuses) == [200] + [409] * 15
    assert len(line.pushes) == 1
    assert line.requests == 16


def test_an_unknown_user_gets_400_naming_the_property_unless_any_user_is_accepted(
    line: FakeLine, api: MessagingApi
) -> None:
    bob = "U" + "b2" * 16
    error = refused(api, to=bob)
    body = json.loads(error.body)
    assert error.status == 400
    assert body["message"] == "Failed to send messages"
    assert body["details"][0]["property"] == "to"
    assert bob in body["details"][0]["message"]
    line.accept_any_user = True
    assert push(api, to=bob).status_code == 200
    assert refused(api, to="U123").status == 400  # not a LINE user ID
    assert [p.to for p in line.pushes] == [bob]


def test_a_body_line_would_refuse_gets_400_with_its_details(line: FakeLine) -> None:
    headers = {"Authorization": f"Bearer {line.token}"}
    url = f"{line.url}/v2/bot/message/push"
    empty = httpx.post(url, json={"to": ALICE, "messages": []}, headers=headers)
    assert empty.status_code == 400
    assert empty.json()["details"] == [
        {"message": "size must be between 1 and 5", "property": "messages"}
    ]
    no_text = httpx.post(url, json={"to": ALICE, "messages": [{"type": "text"}]}, headers=headers)
    assert no_text.json()["details"][0]["property"] == "messages[0].text"
    assert httpx.post(url, content=b"{", headers=headers).status_code == 400
    assert line.pushes == []


def test_pushes_beyond_the_rate_get_429_until_the_second_has_passed(
    line: FakeLine, api: MessagingApi
) -> None:
    line.set_rate(3)
    for _ in range(3):
        push(api)
    error = refused(api)
    assert error.status == 429
    assert json.loads(error.body)["message"] == "Too Many Requests"
    time.sleep(1.05)
    assert push(api).status_code == 200
    assert len(line.pushes) == 4


def test_the_quota_endpoints_answer_through_the_sdk_and_the_limit_gets_429(
    line: FakeLine, api: MessagingApi
) -> None:
    line.set_quota(2)
    push(api)
    assert (api.get_message_quota().type, api.get_message_quota().value) == ("limited", 2)
    assert api.get_message_quota_consumption().total_usage == 1
    push(api)
    error = refused(api)
    assert error.status == 429
    assert "monthly limit" in json.loads(error.body)["message"]
    assert api.get_message_quota_consumption().total_usage == 2


def test_fail_next_answers_its_status_records_nothing_and_leaves_the_key_usable(
    line: FakeLine, api: MessagingApi
) -> None:
    key = str(uuid.uuid4())
    line.fail_next(2)
    for _ in range(2):
        with pytest.raises(ServiceException) as caught:
            push(api, key)
        assert caught.value.status == 500
    assert line.pushes == []
    assert line.requests == 2
    assert push(api, key).status_code == 200
    line.fail_next(1, status=429)
    assert refused(api).status == 429


def test_stall_delays_each_answer_and_stall_0_releases_the_waiting(
    line: FakeLine, api: MessagingApi
) -> None:
    line.stall(0.5)
    started = time.monotonic()
    push(api)
    assert time.monotonic() - started >= 0.45
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        push(api, _request_timeout=0.2)
    line.stall(60)
    waiting = threading.Thread(target=push, args=(api,))
    started = time.monotonic()
    waiting.start()
    while line.requests < 3:
        time.sleep(0.01)
    line.stall(0)
    waiting.join(timeout=10)
    assert not waiting.is_alive()
    assert time.monotonic() - started < 10
    assert len(line.pushes) == 3  # the timed-out push was accepted all the same


def test_drop_next_hangs_up_unanswered_and_the_sdk_does_not_retry_a_push(
    line: FakeLine, api: MessagingApi
) -> None:
    line.drop_next(1)
    with pytest.raises(urllib3.exceptions.ProtocolError):
        push(api, str(uuid.uuid4()))
    assert line.pushes == []
    assert line.requests == 1
    assert push(api).status_code == 200


def test_accept_then_drop_records_the_push_so_its_retry_gets_409(
    line: FakeLine, api: MessagingApi
) -> None:
    key = str(uuid.uuid4())
    line.accept_then_drop_next(1)
    with pytest.raises(urllib3.exceptions.ProtocolError):
        push(api, key)
    (recorded,) = line.pushes
    error = refused(api, key)
    assert error.status == 409
    assert error.headers["x-line-accepted-request-id"] == recorded.request_id
    assert len(line.pushes) == 1


def test_reset_clears_every_fault_and_the_rate(line: FakeLine, api: MessagingApi) -> None:
    line.fail_next(5)
    line.drop_next(5)
    line.accept_then_drop_next(5)
    line.stall(30)
    line.set_rate(0)
    line.reset()
    started = time.monotonic()
    assert [push(api).status_code for _ in range(3)] == [200] * 3
    assert time.monotonic() - started < 5


def test_the_async_sdk_raises_plain_api_exceptions_and_aiohttp_errors(line: FakeLine) -> None:
    async def run() -> None:
        config = Configuration(host=line.url, access_token=line.token)
        async with AsyncApiClient(config) as client:
            api, key = AsyncMessagingApi(client), str(uuid.uuid4())
            request = PushMessageRequest(to=ALICE, messages=[TextMessage(text="x")])
            answer = await api.push_message_with_http_info(request, x_line_retry_key=key)
            assert answer.status_code == 200
            with pytest.raises(ApiException) as caught:
                await api.push_message_with_http_info(request, x_line_retry_key=key)
            assert type(caught.value) is ApiException
            assert caught.value.status == 409
            line.fail_next(1)
            with pytest.raises(ApiException) as caught:
                await api.push_message(request)
            assert type(caught.value) is ApiException
            assert caught.value.status == 500
            line.drop_next(1)
            with pytest.raises(aiohttp.ServerDisconnectedError):
                await api.push_message(request)

    aio.run(run())
    assert len(line.pushes) == 1
    assert line.requests == 4


def test_a_restart_keeps_the_port_the_pushes_and_the_retry_keys(
    line: FakeLine, api: MessagingApi
) -> None:
    key = str(uuid.uuid4())
    push(api, key)
    port = line.port
    line.stop()
    with pytest.raises(urllib3.exceptions.MaxRetryError):  # refused, retried, refused
        push(api, str(uuid.uuid4()))
    line.start()
    assert line.port == port
    assert refused(api, key).status == 409
    assert len(line.pushes) == 1
    assert line.requests == 2


def test_a_push_stalled_when_the_fake_stops_is_hung_up_on_unrecorded(line: FakeLine) -> None:
    line.stall(60)
    errors: list[Exception] = []

    def send() -> None:
        body = {"to": ALICE, "messages": [{"type": "text", "text": "x"}]}
        headers = {"Authorization": f"Bearer {line.token}"}
        try:
            httpx.post(f"{line.url}/v2/bot/message/push", json=body, headers=headers, timeout=30)
        except httpx.HTTPError as error:
            errors.append(error)

    waiting = threading.Thread(target=send)
    waiting.start()
    while line.requests < 1:
        time.sleep(0.01)
    line.stop()
    waiting.join(timeout=10)
    assert [type(e) for e in errors] == [httpx.RemoteProtocolError]
    assert line.pushes == []


def test_webhook_bodies_are_signed_and_parsed_as_line_s_by_the_sdk() -> None:
    events = [
        follow_event(ALICE),
        text_message_event(ALICE, "欠席します"),
        unfollow_event(ALICE, event_id="01J0000000000000000000000A", redelivery=True),
    ]
    raw = json.dumps(webhook_body(events)).encode()
    parsed = WebhookParser("secret").parse(raw.decode(), sign(raw, "secret"))
    assert [type(e) for e in parsed] == [FollowEvent, MessageEvent, UnfollowEvent]
    assert {e.source.user_id for e in parsed} == {ALICE}
    assert isinstance(parsed[1].message, TextMessageContent)
    assert parsed[1].message.text == "欠席します"
    assert parsed[0].follow.is_unblocked is False
    assert parsed[2].webhook_event_id == "01J0000000000000000000000A"
    assert parsed[2].delivery_context.is_redelivery is True
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", parsed[0].webhook_event_id)
    assert parsed[0].webhook_event_id != parsed[1].webhook_event_id
    vector = b'{"destination":"x","events":[]}'  # its signature by `openssl dgst -hmac`
    assert sign(vector, "secret") == "wVfB5t0lqPHpx38QyQOGp7ObRShYSU1OOvaBooe7I0c="
    with pytest.raises(InvalidSignatureError):
        WebhookParser("other").parse(raw.decode(), sign(raw, "secret"))


# SMTP


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    with FakeSmtp() as fake:
        yield fake


def mail(n: int = 0, message_id: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = "school@example.test", "parent@example.test"
    message["Subject"], message["Message-ID"] = f"振替のお知らせ {n}", message_id or f"<{n}@k.test>"
    message.set_content(f"授業 {n} は振替になりました。")
    return message


def send(fake: FakeSmtp, *messages: EmailMessage) -> None:
    with smtplib.SMTP(fake.host, fake.port, timeout=10) as client:
        for message in messages:
            client.send_message(message)


def test_a_message_is_recorded_parsed_with_its_envelope(smtp: FakeSmtp) -> None:
    assert smtp.url == f"smtp://127.0.0.1:{smtp.port}"
    assert smtp.port > 0
    with smtplib.SMTP(smtp.host, smtp.port) as client:
        client.sendmail("bounce@k.test", ["a@k.test", "b@k.test"], mail(1).as_bytes())
    (message,) = smtp.messages
    assert isinstance(message, EmailMessage)
    assert (message.mail_from, message.rcpt_tos) == ("bounce@k.test", ["a@k.test", "b@k.test"])
    assert message["Subject"] == "振替のお知らせ 1"
    assert message["To"] == "parent@example.test"
    assert "授業 1 は振替になりました" in message.get_content()
    assert smtp.message_ids() == ["<1@k.test>"]
    assert smtp.count == 1


def test_many_messages_on_one_connection_are_all_kept_without_waiting(smtp: FakeSmtp) -> None:
    async def run() -> None:
        async with aiosmtplib.SMTP(hostname=smtp.host, port=smtp.port) as client:
            for n in range(1000):
                await client.send_message(mail(n))

    started = time.monotonic()
    aio.run(run())
    assert time.monotonic() - started < 30  # about 2 s here: no wait per message
    assert smtp.count == 1000
    assert smtp.duplicates() == {}
    assert smtp.message_ids() == [f"<{n}@k.test>" for n in range(1000)]


def test_duplicates_counts_the_message_ids_accepted_more_than_once(smtp: FakeSmtp) -> None:
    send(smtp, mail(1), mail(2), mail(1), mail(3, "<2@k.test>"), mail(1))
    assert smtp.duplicates() == {"<1@k.test>": 3, "<2@k.test>": 2}


def test_fail_next_answers_data_with_a_temporary_failure_and_records_nothing(
    smtp: FakeSmtp,
) -> None:
    smtp.fail_next(2)
    with smtplib.SMTP(smtp.host, smtp.port) as client:
        for _ in range(2):
            with pytest.raises(smtplib.SMTPDataError) as caught:
                client.send_message(mail())
            assert caught.value.smtp_code == 451
        client.send_message(mail())
    smtp.fail_next(1, code=452)
    with pytest.raises(smtplib.SMTPDataError) as caught:
        send(smtp, mail())
    assert caught.value.smtp_code == 452
    assert smtp.count == 1


def test_reject_next_answers_data_with_a_permanent_failure(smtp: FakeSmtp) -> None:
    smtp.reject_next(1)
    with pytest.raises(smtplib.SMTPDataError) as caught:
        send(smtp, mail())
    assert caught.value.smtp_code == 550
    smtp.reject_next(1, code=554)

    async def run() -> None:
        with pytest.raises(aiosmtplib.SMTPDataError) as caught:
            await aiosmtplib.send(mail(), hostname=smtp.host, port=smtp.port)
        assert caught.value.code == 554

    aio.run(run())
    assert smtp.count == 0
    send(smtp, mail())
    assert smtp.count == 1


def test_stall_delays_data_and_stall_0_releases_the_waiting(smtp: FakeSmtp) -> None:
    smtp.stall(0.5)
    started = time.monotonic()
    send(smtp, mail())
    assert time.monotonic() - started >= 0.45
    smtp.stall(60)
    waiting = threading.Thread(target=send, args=(smtp, mail(1)))
    started = time.monotonic()
    waiting.start()
    time.sleep(0.3)
    assert smtp.count == 1  # still in DATA
    smtp.stall(0)
    waiting.join(timeout=10)
    assert not waiting.is_alive()
    assert time.monotonic() - started < 10
    assert smtp.count == 2


def test_drop_next_closes_the_connection_in_data_and_records_nothing(smtp: FakeSmtp) -> None:
    smtp.drop_next(2)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        send(smtp, mail())

    async def run() -> None:
        with pytest.raises(aiosmtplib.SMTPServerDisconnected):
            await aiosmtplib.send(mail(), hostname=smtp.host, port=smtp.port)

    aio.run(run())
    assert smtp.count == 0
    send(smtp, mail())
    assert smtp.count == 1


def test_accept_then_drop_records_the_message_so_a_resend_is_a_duplicate(
    smtp: FakeSmtp,
) -> None:
    smtp.accept_then_drop_next(1)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        send(smtp, mail(7))
    assert smtp.message_ids() == ["<7@k.test>"]
    send(smtp, mail(7))
    assert smtp.duplicates() == {"<7@k.test>": 2}


def test_reset_clears_every_fault(smtp: FakeSmtp) -> None:
    for fault in (smtp.fail_next, smtp.reject_next, smtp.drop_next, smtp.accept_then_drop_next):
        fault(5)
    smtp.stall(30)
    smtp.reset()
    started = time.monotonic()
    send(smtp, mail(1), mail(2))
    assert time.monotonic() - started < 5
    assert smtp.count == 2


def test_a_restart_keeps_the_port_and_the_messages(smtp: FakeSmtp) -> None:
    send(smtp, mail(1))
    port = smtp.port
    smtp.stop()
    with pytest.raises(ConnectionRefusedError):
        send(smtp, mail(2))
    smtp.start()
    send(smtp, mail(3))
    assert smtp.port == port
    assert smtp.message_ids() == ["<1@k.test>", "<3@k.test>"]


def test_a_message_stalled_when_the_fake_stops_is_hung_up_on_unrecorded(smtp: FakeSmtp) -> None:
    smtp.stall(60)
    errors: list[Exception] = []

    def sending() -> None:
        try:
            send(smtp, mail())
        except smtplib.SMTPException as error:
            errors.append(error)

    waiting = threading.Thread(target=sending)
    waiting.start()
    time.sleep(0.3)  # into DATA
    smtp.stop()
    waiting.join(timeout=10)
    assert [type(e) for e in errors] == [smtplib.SMTPServerDisconnected]
    assert smtp.count == 0


# The demo: both fakes in another process


def test_the_cli_serves_both_to_another_process_and_logs_what_arrives(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "komawari_soak.fakes", "--any-user"]
    with (tmp_path / "log").open("w+b") as log:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log)
        watchdog = threading.Timer(30, proc.kill)  # a hung child fails the test, not the run
        watchdog.start()
        try:
            assert proc.stdout is not None
            urls = dict(proc.stdout.readline().decode().split() for _ in range(2))
            body = {"to": ALICE, "messages": [{"type": "text", "text": "hello"}]}
            headers = {"Authorization": "Bearer fake-line-token"}
            url = f"{urls['LINE']}/v2/bot/message/push"
            assert httpx.post(url, json=body, headers=headers).status_code == 200
            host, port = urls["SMTP"].removeprefix("smtp://").split(":")
            with smtplib.SMTP(host, int(port)) as client:
                client.send_message(mail(5))
            proc.send_signal(signal.SIGINT)
            assert proc.wait() == 0
        finally:
            watchdog.cancel()
            proc.kill()
            proc.wait()
            proc.stdout.close()  # type: ignore[union-attr]
        log.seek(0)
        logged = log.read().decode()
    assert f"LINE push to {ALICE}: ['hello']" in logged
    assert "SMTP mail from school@example.test to ['parent@example.test']" in logged
