"""The outbox's API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from komawari.notices.enums import Channel, MessageStatus


class OutboxCounts(BaseModel):
    intents_waiting: int
    messages_pending: int
    messages_sent: int
    messages_dead: int
    messages_held: int
    line_month: str
    line_sent_this_month: int
    line_monthly_quota: int
    line_paused_until: datetime | None


class MessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    contact_id: int
    channel: Channel
    status: MessageStatus
    language: str
    subject: str
    kinds: list[str]
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class Messages(BaseModel):
    items: list[MessageRead]
