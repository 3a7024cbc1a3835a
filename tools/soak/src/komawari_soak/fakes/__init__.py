"""Loopback stand-ins for LINE's Messaging API and an SMTP server, with faults on demand.

Komawari's notice delivery is tested against these, never against mocks: pytest fixtures,
the soak (another process, so they listen on host:port) and the email benchmark.
`python -m komawari_soak.fakes` runs both for a demo.
"""

from komawari_soak.fakes.line import FakeLine, Push
from komawari_soak.fakes.smtp import FakeSmtp, ReceivedMessage
from komawari_soak.fakes.webhook import (
    follow_event,
    sign,
    text_message_event,
    unfollow_event,
    webhook_body,
)

__all__ = [
    "FakeLine",
    "FakeSmtp",
    "Push",
    "ReceivedMessage",
    "follow_event",
    "sign",
    "text_message_event",
    "unfollow_event",
    "webhook_body",
]
