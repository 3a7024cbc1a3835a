"""The outbox for the operator (admins): counts, messages by state, send a message again."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from komawari.auth.dependencies import AdminCaller
from komawari.notices import operator
from komawari.notices.enums import MessageStatus
from komawari.notices.operator_schemas import MessageRead, Messages, OutboxCounts
from komawari.web.deps import Db
from komawari.web.routing import api_router

router = api_router("/notices", "notices")


@router.get("/outbox", summary="The outbox's counts")
def outbox(db: Db, who: AdminCaller) -> OutboxCounts:
    """Intents waiting, messages by state, and LINE's messages this month against the plan."""
    return OutboxCounts.model_validate(operator.counts(db))


@router.get("/messages", summary="The newest messages, of one state or all")
def list_messages(
    db: Db,
    who: AdminCaller,
    status: MessageStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Messages:
    """The newest messages first; `status=dead` lists the dead letters with their reasons."""
    rows = operator.messages(db, status=status, limit=limit)
    return Messages(items=[MessageRead.model_validate(m) for m, _ in rows])


@router.post("/messages/{message_id}/send-again", summary="Send a dead or held message again")
def send_again(message_id: int, db: Db, who: AdminCaller) -> MessageRead:
    """Put the message back in the queue (its attempts counted afresh); 409 when it is
    neither dead nor held."""
    return MessageRead.model_validate(
        operator.send_again(db, message_id=message_id, actor=who.actor)
    )
