"""A LINE Messaging API on loopback: push and quota, as line-bot-sdk sees them, and faults.

Faults and the rate limit act on pushes only: the quota endpoints are for a test to look
at the fake through the SDK, so they always answer. Retry keys never expire (LINE keeps
them 24 hours, longer than any test). What LINE posts to Komawari's webhook is built by
the helpers of `webhook`, re-exported here.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import re
import socket
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from komawari_soak.fakes.webhook import BOT_USER_ID as BOT_USER_ID
from komawari_soak.fakes.webhook import follow_event as follow_event
from komawari_soak.fakes.webhook import sign as sign
from komawari_soak.fakes.webhook import text_message_event as text_message_event
from komawari_soak.fakes.webhook import unfollow_event as unfollow_event
from komawari_soak.fakes.webhook import webhook_body as webhook_body

log = logging.getLogger(__name__)

PUSH = "/v2/bot/message/push"
QUOTA = "/v2/bot/message/quota"
USER_ID = re.compile(r"U[0-9a-f]{32}")
RETRY_KEY = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
AUTH_FAILED = (
    "Authentication failed. Confirm that the access token in the authorization header is valid."
)
DEFAULT_TOKEN = "fake-line-token"  # noqa: S105 (the loopback fake's, not a secret)
Json = dict[str, Any]
Answer = tuple[int, Json, dict[str, str]]  # status, JSON body, extra headers


@dataclass(frozen=True)
class Push:
    """A push the fake accepted (answered 200, or recorded before a dropped answer)."""

    retry_key: str | None
    to: str
    messages: list[Json]
    request_id: str
    at: float  # time.time() when accepted
    sent_ids: tuple[str, ...]

    def sent_messages(self) -> list[Json]:
        """Return the `sentMessages` LINE answers for this push."""
        return [{"id": i, "quoteToken": f"q{i}"} for i in self.sent_ids]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as urllib3's and httpx's pools expect
    server_version, sys_version = "FakeLine", ""
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.fake._opened(self.connection, True)

    def finish(self) -> None:
        self.server.fake._opened(self.connection, False)
        super().finish()

    def do_GET(self) -> None:
        self.server.fake._serve(self)

    def do_POST(self) -> None:
        self.server.fake._serve(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one stderr line a request would flood a soak; pushes are logged instead


class _Server(ThreadingHTTPServer):
    fake: FakeLine

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up during a stall, or a stop, breaks the pipe: no traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeLine:
    """A LINE Messaging API on 127.0.0.1: pushes recorded, faults injected on demand."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        accept_any_user: bool = False,
        quota: int = 1_000_000,
    ) -> None:
        self.token, self.host, self.port = token, host, port
        self.accept_any_user = accept_any_user
        self._cond = threading.Condition()  # guards everything below; wakes stalled answers
        self._users: set[str] = set()
        self._pushes: list[Push] = []
        self._by_key: dict[str, Push] = {}
        self._requests = 0
        self._quota = quota
        self._ids = itertools.count(600_000_000_000_000_000)  # LINE's ids: 18 digits
        self._rate: float | None = None
        self._recent: deque[float] = deque()
        self._faults = {"fail": 0, "drop": 0, "accept_drop": 0}
        self._fail_status = 500
        self._stall = 0.0
        self._stopping = False
        self._conns: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Return the base URL, for line-bot-sdk's `Configuration(host=...)`."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        """Listen (on the same port again after a stop, keeping records and retry keys)."""
        server = _Server((self.host, self.port), _Handler)
        server.fake, self._server, self._stopping = self, server, False
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name=f"fake-line-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and close every open connection."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            conns = list(self._conns)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for conn in conns:  # idle keep-alive connections would otherwise hold their threads
            with contextlib.suppress(OSError):  # already closed by its client
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add_user(self, *user_ids: str) -> None:
        """Make these users friends of the bot, so pushes to them are accepted."""
        with self._cond:
            self._users.update(user_ids)

    def set_rate(self, per_second: float | None) -> None:
        """Answer 429 to pushes beyond this many in any one second (None: no limit)."""
        with self._cond:
            self._rate, self._recent = per_second, deque()

    def set_quota(self, value: int) -> None:
        """Set the month's message quota; pushes beyond it get 429."""
        with self._cond:
            self._quota = value

    @property
    def pushes(self) -> list[Push]:
        """Return a copy of the accepted pushes, oldest first."""
        with self._cond:
            return list(self._pushes)

    @property
    def requests(self) -> int:
        """Return how many requests arrived, however they were answered."""
        with self._cond:
            return self._requests

    def fail_next(self, n: int, status: int = 500) -> None:
        """Answer the next n pushes with this status, recording nothing."""
        with self._cond:
            self._faults["fail"], self._fail_status = n, status

    def drop_next(self, n: int) -> None:
        """Close the connection of the next n pushes without an answer, recording nothing."""
        with self._cond:
            self._faults["drop"] = n

    def accept_then_drop_next(self, n: int) -> None:
        """Record the next n accepted pushes, then close their connections unanswered."""
        with self._cond:
            self._faults["accept_drop"] = n

    def stall(self, seconds: float) -> None:
        """Wait this long before answering each push, until stall(0) (which wakes them)."""
        with self._cond:
            self._stall = seconds
            self._cond.notify_all()

    def reset(self) -> None:
        """Clear every fault and the rate limit; records stay."""
        with self._cond:
            self._faults = dict.fromkeys(self._faults, 0)
            self._rate, self._recent = None, deque()
            self._stall = 0.0
            self._cond.notify_all()

    # The server's side: each request in its own thread.

    def _opened(self, conn: socket.socket, is_open: bool) -> None:
        with self._cond:
            if is_open:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def _take(self, fault: str) -> bool:
        if self._faults[fault] > 0:
            self._faults[fault] -= 1
            return True
        return False

    def _wait_stall(self) -> bool:
        """Wait out the stall; tell whether the fake stopped meanwhile (then hang up)."""
        with self._cond:
            end = time.monotonic() + self._stall
            while self._stall > 0 and not self._stopping and time.monotonic() < end:
                self._cond.wait(end - time.monotonic())
            return self._stopping

    def _serve(self, h: _Handler) -> None:
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        request_id = str(uuid.uuid4())
        with self._cond:
            self._requests += 1
        answer = self._route(h, body, request_id)
        if answer is None:
            h.close_connection = True  # nothing written: the client sees the socket close
            return
        status, json_body, headers = answer
        data = json.dumps(json_body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.send_header("x-line-request-id", request_id)
        for name, value in headers.items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)

    def _route(self, h: _Handler, body: bytes, request_id: str) -> Answer | None:
        """Return the answer to a request, or None to hang up without one."""
        path = h.path.split("?")[0]
        if h.headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"message": AUTH_FAILED}, {}
        if h.command == "GET" and path == QUOTA:
            return 200, {"type": "limited", "value": self._quota}, {}
        if h.command == "GET" and path == QUOTA + "/consumption":
            return 200, {"totalUsage": len(self.pushes)}, {}
        if h.command != "POST" or path != PUSH:
            return 404, {"message": "Not found"}, {}
        stopped = self._wait_stall()
        with self._cond:
            if stopped or self._take("drop"):
                return None
            if self._take("fail"):
                return self._fail_status, {"message": HTTPStatus(self._fail_status).phrase}, {}
            if self._limited(time.monotonic()):
                return 429, {"message": "Too Many Requests"}, {}
        answer = self._push(h.headers.get("X-Line-Retry-Key"), body, request_id)
        with self._cond:
            if answer[0] == 200 and self._take("accept_drop"):
                return None
        return answer

    def _limited(self, now: float) -> bool:
        """Tell whether a request now is beyond the rate (counting it if not)."""
        if self._rate is None:
            return False
        while self._recent and self._recent[0] <= now - 1.0:
            self._recent.popleft()
        if len(self._recent) >= self._rate:
            return True
        self._recent.append(now)
        return False

    def _push(self, key: str | None, body: bytes, request_id: str) -> Answer:
        if key is not None and not RETRY_KEY.fullmatch(key):
            return 400, {"message": "The value for the 'X-Line-Retry-Key' header is invalid"}, {}
        request, errors = _parse_push(body)
        if errors:
            return (
                400,
                {"message": f"The request body has {len(errors)} error(s)", "details": errors},
                {},
            )
        to = request["to"]
        with self._cond:  # checked and recorded at once: one 200 per retry key, however raced
            if key is not None and key in self._by_key:
                first = self._by_key[key]
                answer: Json = {"message": "The retry key is already accepted"}
                answer["sentMessages"] = first.sent_messages()
                return 409, answer, {"x-line-accepted-request-id": first.request_id}
            if to not in self._users and not (self.accept_any_user and USER_ID.fullmatch(to)):
                problem = f"The user {to!r} has not added the bot as a friend"
                details = [{"message": problem, "property": "to"}]
                return 400, {"message": "Failed to send messages", "details": details}, {}
            if len(self._pushes) >= self._quota:
                return 429, {"message": "You have reached your monthly limit."}, {}
            ids = tuple(str(next(self._ids)) for _ in request["messages"])
            push = Push(key, to, request["messages"], request_id, time.time(), ids)
            self._pushes.append(push)
            if key is not None:
                self._by_key[key] = push
        log.info("LINE push to %s: %s", to, [m.get("text", m["type"]) for m in push.messages])
        return 200, {"sentMessages": push.sent_messages()}, {}


def _parse_push(body: bytes) -> tuple[Json, list[Json]]:
    """Return the push request and LINE's error details for what is wrong with it."""
    try:
        request = json.loads(body)
    except ValueError:
        return {}, [{"message": "must be a JSON object", "property": ""}]
    if not isinstance(request, dict):
        return {}, [{"message": "must be a JSON object", "property": ""}]
    errors = []
    if not isinstance(request.get("to"), str) or not request["to"]:
        errors.append({"message": "must be specified", "property": "to"})
    messages = request.get("messages")
    if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
        errors.append({"message": "size must be between 1 and 5", "property": "messages"})
        messages = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            errors.append({"message": "must be specified", "property": f"messages[{i}].type"})
        elif message["type"] == "text" and not 1 <= len(message.get("text") or "") <= 5000:
            errors.append({"message": "length must be 1-5000", "property": f"messages[{i}].text"})
    return request, errors
