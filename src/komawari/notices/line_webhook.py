"""POST /api/line/webhook: LINE tells Komawari what families did in the school's account.

No user calls it: LINE signs each body with the channel secret (`X-Line-Signature`,
checked by `auth/dependencies.line_signed_body` through `policy.line_signature_matches`).
A text message holding a live link code binds its sender to the code's contact; an
`unfollow` (the family blocked or removed the school) forgets the account. Every other
event, and a message that is no live code, changes nothing. A signed body is answered
200 even then: LINE sends again what was not answered 200.

It is LINE's address, not the integrators' API: it is not in /api/openapi.json. As a call
without a credential its body is capped at 16 KiB (`web/problems.BodyLimit`).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import Depends
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from komawari.audit.service import Actor
from komawari.auth.dependencies import LineSignedBody
from komawari.errors import InvalidInput
from komawari.notices import line_link
from komawari.notices.line_link import Bound
from komawari.web.deps import Db, refuse_idempotency_key
from komawari.web.routing import api_router
from komawari.words import say

router = api_router("/line", "line", caller=False)
ACTOR = Actor("line", "line:webhook")


class _Source(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    type: str
    user_id: str | None = Field(default=None, alias="userId", max_length=64)


class _Message(BaseModel):
    type: str
    text: str | None = Field(default=None, max_length=5000)


class Event(BaseModel):
    """The part of a LINE webhook event Komawari reads; the rest is ignored."""

    type: str
    source: _Source | None = None
    message: _Message | None = None


class WebhookAnswer(BaseModel):
    """What the events did: LINE reads only the 200."""

    linked: int = 0
    unlinked: int = 0
    ignored: int = 0


def events_of(body: bytes) -> list[Event]:
    """Return the events of a webhook body; one Komawari cannot read is skipped."""
    try:
        raw: Any = json.loads(body)
    except ValueError as exc:
        raise InvalidInput("body", say("line.not-json", "the body is not JSON")) from exc
    listed = raw.get("events") if isinstance(raw, dict) else None
    found = []
    for item in listed if isinstance(listed, list) else []:
        try:
            found.append(Event.model_validate(item))
        except ValidationError:
            continue  # an event of a shape Komawari does not know
    return found


def handle(db: Session, event: Event) -> Literal["linked", "unlinked", "ignored"]:
    """Apply one event: a link code binds its sender, an unfollow forgets them."""
    user = event.source.user_id if event.source and event.source.type == "user" else None
    if user is None:
        return "ignored"
    if event.type == "unfollow":
        return "unlinked" if line_link.unbind(db, line_user_id=user, actor=ACTOR) else "ignored"
    message = event.message
    if event.type == "message" and message and message.type == "text" and message.text:
        bound = line_link.bind(db, typed=message.text, line_user_id=user, actor=ACTOR)
        return "linked" if bound == Bound.LINKED else "ignored"
    return "ignored"


@router.post(
    "/webhook",
    include_in_schema=False,
    dependencies=[Depends(refuse_idempotency_key)],
)
def line_webhook(body: LineSignedBody, db: Db) -> WebhookAnswer:
    """Apply LINE's events to the contacts (400: not signed by LINE; 503: not set up)."""
    answer = WebhookAnswer()
    for event in events_of(body):
        outcome = handle(db, event)
        setattr(answer, outcome, getattr(answer, outcome) + 1)
    return answer
