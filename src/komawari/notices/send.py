"""Sending the outbox's messages: each message leased to one sender, every attempt recorded.

A sender leases a few due messages at a time (FOR UPDATE SKIP LOCKED: two senders never
take one), sends each, and records each answer in one statement of its own, on a second
connection while it sends the next, so a sender killed mid-send has recorded every
message but the last it sent. That one, and
those it had leased, go back to the queue when the lease ends; the next sender sends
them with the same key (LINE answers 409 to a retry key it took; an email carries the
same Message-ID). A passing failure waits longer each time; after
`KOMAWARI_NOTICE_MAX_ATTEMPTS`, or on a final refusal, the message is a dead letter with
its reason, until an operator sends it again.
"""

from __future__ import annotations

import os
import random
import socket
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text

from komawari.config import get_settings
from komawari.notices import sql
from komawari.notices.channels import Outcome, Outgoing, Sender
from komawari.notices.enums import Channel

FIRST_WAIT = 30.0  # seconds before the second attempt; doubled each time after
LONGEST_WAIT = 6 * 3600.0
BATCH = 20  # messages leased at once


def backoff(attempts: int) -> float:
    """Seconds to wait after `attempts` failed attempts: doubling, capped, with jitter."""
    base = min(LONGEST_WAIT, FIRST_WAIT * 2 ** max(0, attempts - 1))
    return float(base) * random.uniform(0.8, 1.2)  # noqa: S311


def default_senders() -> dict[Channel, Sender]:
    """The channels this deployment has set up (none: messages are kept, not sent)."""
    settings = get_settings()
    senders: dict[Channel, Sender] = {}
    if settings.smtp_url:
        from komawari.notices.channels.email import Email

        senders[Channel.EMAIL] = Email(settings.smtp_url, sender=settings.mail_from)
    if settings.line_channel_token:
        from komawari.notices.channels.line import Line

        senders[Channel.LINE] = Line(settings.line_api_url, settings.line_channel_token)
    return senders


@dataclass
class Sent:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)

    def count(self, end: str) -> None:
        self.by_outcome[end] = self.by_outcome.get(end, 0) + 1
        if end == "sent":
            self.sent += 1
        elif end == "dead":
            self.dead += 1
        elif end == "pending":
            self.retried += 1

    @property
    def total(self) -> int:
        return self.sent + self.retried + self.dead


def record(conn: Connection, *, me: str, message_id: int, attempts: int, channel: Channel,
           outcome: Outcome) -> str:  # fmt: skip
    """Record one attempt's answer (one statement on an autocommit connection: one round
    trip); return the message's state."""
    params = {
        "id": message_id,
        "me": me,
        "result": outcome.result,
        "status_code": outcome.status_code,
        "answer": (outcome.answer or "")[:2000] or None,
        "max_attempts": get_settings().notice_max_attempts,
        "wait": backoff(attempts + 1),
    }
    status = conn.execute(text(sql.RECORD), params).scalar()
    if outcome.result == "sent" and channel == Channel.LINE:
        conn.execute(text(sql.COUNT_SENT), {"channel": channel.value})
    if outcome.pause:
        conn.execute(text(sql.PAUSE), {"channel": channel.value, "seconds": outcome.pause})
    return str(status) if status is not None else "lost-lease"


def send_due(
    engine: Engine,
    *,
    senders: dict[Channel, Sender] | None = None,
    limit: int | None = None,
    stop: Callable[[], bool] | None = None,
) -> Sent:
    """Send due messages until none is due (or `limit`, or `stop()`)."""
    own = senders is None
    chosen = default_senders() if senders is None else senders
    me = f"{socket.gethostname()}-{os.getpid()}-{id(chosen):x}"
    done = Sent()
    try:
        # Each statement its own transaction: a lease, then one record per message. A
        # message's record goes on a connection of its own while the next message is
        # sent (at most one record in flight: a sender that dies has recorded every
        # message but the last one it sent, which goes again with its key).
        autocommit = {"isolation_level": "AUTOCOMMIT"}
        with (
            engine.connect().execution_options(**autocommit) as conn,
            engine.connect().execution_options(**autocommit) as records,
            ThreadPoolExecutor(1, thread_name_prefix="notice-record") as recorder,
        ):
            in_flight: Future[str] | None = None
            while limit is None or done.total < limit:
                if stop is not None and stop():
                    break
                lease = get_settings().notice_lease_seconds
                leased = conn.execute(
                    text(sql.CLAIM), {"me": me, "lease": lease, "limit": BATCH}
                ).all()
                if not leased:
                    break
                taken = time.monotonic()
                for n, row in enumerate(leased):
                    if time.monotonic() - taken > lease / 2 or (stop is not None and stop()):
                        rest = [r.id for r in leased[n:]]  # they go back, unsent
                        conn.execute(text(sql.RELEASE), {"ids": rest, "me": me})
                        break
                    channel = Channel(row.channel)
                    sender = chosen.get(channel)
                    if sender is None:  # set up when the message was made, and not now
                        outcome = Outcome("retry", None, f"{channel.value} is not set up")
                    else:
                        outcome = sender.send(
                            Outgoing(str(row.key), row.address or "", row.subject,
                                     row.body_text, row.body_html)
                        )  # fmt: skip
                    if in_flight is not None:
                        done.count(in_flight.result())
                    in_flight = recorder.submit(
                        record, records, me=me, message_id=row.id, attempts=row.attempts,
                        channel=channel, outcome=outcome,
                    )  # fmt: skip
                if in_flight is not None:  # the batch's last, before the next lease
                    done.count(in_flight.result())
                    in_flight = None
    finally:
        if own:
            for sender in chosen.values():
                sender.close()
    return done


def due_now(engine: Engine) -> int:
    """Make every waiting message due now and end any channel's pause (an operator who
    has fixed what failed does not wait for the backoff); return how many."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE notice_channel_state SET paused_until = NULL"))
        return int(
            conn.execute(
                text(
                    "UPDATE notice_messages SET next_attempt_at = now()"
                    " WHERE status = 'pending' AND next_attempt_at > now()"
                )
            ).rowcount
        )
