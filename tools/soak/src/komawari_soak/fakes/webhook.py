"""What LINE posts to a bot's webhook (Komawari's `POST /api/line/webhook`), for its tests.

The builders return the JSON body as a dict; a test serialises it once and signs those very
bytes, since the signature covers the body as sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
import uuid
from typing import Any

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # ULIDs' base 32
BOT_USER_ID = "U" + "b0" * 16  # the `destination` of webhooks: the bot's own user ID
Json = dict[str, Any]


def sign(body: bytes, channel_secret: str) -> str:
    """Return the X-Line-Signature of a webhook body: base64 of its HMAC-SHA256."""
    digest = hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def webhook_body(events: list[Json], destination: str = BOT_USER_ID) -> Json:
    """Return a webhook request body carrying these events."""
    return {"destination": destination, "events": events}


def follow_event(
    user_id: str, *, unblocked: bool = False, event_id: str | None = None, redelivery: bool = False
) -> Json:
    """Return the event LINE sends when a user adds the bot as a friend (or unblocks it)."""
    event = _event("follow", user_id, event_id, redelivery)
    return {**event, "replyToken": uuid.uuid4().hex, "follow": {"isUnblocked": unblocked}}


def unfollow_event(user_id: str, *, event_id: str | None = None, redelivery: bool = False) -> Json:
    """Return the event LINE sends when a user blocks the bot."""
    return _event("unfollow", user_id, event_id, redelivery)


def text_message_event(
    user_id: str, text: str, *, event_id: str | None = None, redelivery: bool = False
) -> Json:
    """Return the event LINE sends when a user writes to the bot."""
    message_id = str(secrets.randbelow(10**18) + 10**17)
    message = {"id": message_id, "type": "text", "quoteToken": f"q{message_id}", "text": text}
    event = _event("message", user_id, event_id, redelivery)
    return {**event, "replyToken": uuid.uuid4().hex, "message": message}


def _event(kind: str, user_id: str, event_id: str | None, redelivery: bool) -> Json:
    return {
        "type": kind,
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": event_id or _ulid(),
        "deliveryContext": {"isRedelivery": redelivery},
    }


def _ulid() -> str:
    """Return a new ULID (LINE's webhookEventId): 48 bits of milliseconds, 80 random."""
    value = int(time.time() * 1000) << 80 | int.from_bytes(os.urandom(10), "big")
    return "".join(CROCKFORD[value >> 5 * i & 31] for i in range(25, -1, -1))
