"""An SMTP server on loopback (aiosmtpd) that keeps what it accepts, with faults on DATA.

Fast enough for a benchmark of 10,000 emails: a message is kept as bytes with its envelope
and parsed only when `messages` is read (`count`, `message_ids` and `duplicates` do not
parse bodies), and nothing waits unless a stall is asked for.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Awaitable
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from typing import Any, Self, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger(__name__)

# Checked in this order on each DATA; each asked-for fault takes one message.
FAULTS = ("drop", "fail", "reject", "accept_drop")


class ReceivedMessage(EmailMessage):
    """A message as the fake accepted it, with its SMTP envelope."""

    mail_from: str
    rcpt_tos: list[str]
    received_at: float  # time.time()


class _Controller(Controller):
    """aiosmtpd's controller on a socket bound beforehand, so that port 0 picks a free one."""

    def __init__(self, handler: Any, sock: socket.socket) -> None:
        host, port = sock.getsockname()[:2]
        # server_hostname: without it every connection asks socket.getfqdn(), slow offline.
        super().__init__(
            handler,
            hostname=host,
            port=port,
            server_hostname="fake-smtp.komawari.test",
            enable_SMTPUTF8=True,
        )
        self._sock = sock

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        return self.loop.create_server(self._factory_invoker, sock=self._sock)


class _Handler:
    def __init__(self, fake: FakeSmtp) -> None:
        self.fake = fake

    # aiosmtpd calls the hook by this name
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        return await self.fake._data(server, envelope)


class FakeSmtp:
    """An SMTP server on 127.0.0.1: messages recorded in memory, faults injected on demand."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self._lock = threading.Lock()  # guards the records and the faults
        self._raw: list[tuple[bytes, str, list[str], float]] = []
        self._parsed: list[ReceivedMessage] = []
        self._faults = dict.fromkeys(FAULTS, 0)
        self._codes = {"fail": 451, "reject": 550}
        self._stall = 0.0
        self._controller: _Controller | None = None

    @property
    def url(self) -> str:
        """Return smtp://host:port."""
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> Self:
        """Listen (on the same port again after a stop, keeping the messages)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        # A new controller each time: a stopped one has closed its event loop.
        self._controller = _Controller(_Handler(self), sock)
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening; connections still open are dropped (a stalled DATA with them)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def count(self) -> int:
        """Return how many messages were accepted, without parsing them."""
        with self._lock:
            return len(self._raw)

    @property
    def messages(self) -> list[ReceivedMessage]:
        """Return the accepted messages, parsed, oldest first."""
        with self._lock:
            for content, mail_from, rcpt_tos, at in self._raw[len(self._parsed) :]:
                parser = BytesParser(ReceivedMessage, policy=policy.default)
                # typeshed types the result by the policy's factory, not by _class
                message = cast(ReceivedMessage, parser.parsebytes(content))
                message.mail_from, message.rcpt_tos, message.received_at = mail_from, rcpt_tos, at
                self._parsed.append(message)
            return list(self._parsed)

    def message_ids(self) -> list[str]:
        """Return the Message-ID of every accepted message that has one, in order."""
        with self._lock:
            raw = [content for content, *_ in self._raw]
        # Headers only, by the old policy: 30 µs a message, where a full parse by the
        # default policy takes 500 (a benchmark of 10,000 emails checks its duplicates).
        parser = BytesHeaderParser(policy=policy.compat32)
        found = (parser.parsebytes(content)["Message-ID"] for content in raw)
        return ["".join(str(mid).split()) for mid in found if mid]

    def duplicates(self) -> dict[str, int]:
        """Return each Message-ID accepted more than once, with how many times."""
        return {mid: n for mid, n in Counter(self.message_ids()).items() if n > 1}

    def fail_next(self, n: int, code: int = 451) -> None:
        """Answer DATA of the next n messages with a temporary failure, recording nothing."""
        with self._lock:
            self._faults["fail"], self._codes["fail"] = n, code

    def reject_next(self, n: int, code: int = 550) -> None:
        """Answer DATA of the next n messages with a permanent failure, recording nothing."""
        with self._lock:
            self._faults["reject"], self._codes["reject"] = n, code

    def drop_next(self, n: int) -> None:
        """Close the connection at DATA of the next n messages, unanswered and unrecorded."""
        with self._lock:
            self._faults["drop"] = n

    def accept_then_drop_next(self, n: int) -> None:
        """Record the next n messages, then close their connections instead of answering."""
        with self._lock:
            self._faults["accept_drop"] = n

    def stall(self, seconds: float) -> None:
        """Wait this long in each DATA before answering, until stall(0) (which ends waits)."""
        with self._lock:
            self._stall = seconds

    def reset(self) -> None:
        """Clear every fault; messages stay."""
        with self._lock:
            self._faults = dict.fromkeys(FAULTS, 0)
            self._stall = 0.0

    # The server's side: coroutines on the controller's event loop.

    def _take(self) -> str | None:
        with self._lock:
            for fault in FAULTS:
                if self._faults[fault] > 0:
                    self._faults[fault] -= 1
                    return fault
            return None

    async def _data(self, server: SMTP, envelope: Envelope) -> str:
        end = time.monotonic() + self._stall
        while self._stall > 0 and (left := end - time.monotonic()) > 0:
            await asyncio.sleep(min(left, 0.05))  # polled: stall(0) comes from another thread
        fault = self._take()
        if fault in ("fail", "reject"):
            code = self._codes[fault]
            return f"{code} {code // 100}.3.0 {fault} injected by FakeSmtp"
        if fault != "drop":
            content, mail_from = envelope.original_content or b"", envelope.mail_from or ""
            with self._lock:
                self._raw.append((content, mail_from, list(envelope.rcpt_tos), time.time()))
            if log.isEnabledFor(logging.INFO):  # parsing headers costs: only when shown
                subject = BytesHeaderParser(policy=policy.default).parsebytes(content)["Subject"]
                log.info("SMTP mail from %s to %s: %s", mail_from, envelope.rcpt_tos, subject)
        if fault in ("drop", "accept_drop") and server.transport is not None:
            server.transport.close()  # aiosmtpd's answer then goes to a closed transport: lost
            return "421 4.4.2 dropped by FakeSmtp"
        return "250 2.0.0 OK: queued by FakeSmtp"
