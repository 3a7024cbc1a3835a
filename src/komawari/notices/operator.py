"""The outbox as the operator sees it: what waits, what went, what failed and why."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.config import get_settings
from komawari.errors import Conflict, NotFound
from komawari.notices.enums import Channel, MessageStatus
from komawari.notices.models import (
    ChannelState,
    Contact,
    NoticeDelivery,
    NoticeIntent,
    NoticeMessage,
)
from komawari.words import say


def counts(db: Session) -> dict[str, Any]:
    """Intents waiting, messages by state, and LINE's count this month against the plan."""
    waiting = db.scalar(select(func.count()).where(NoticeIntent.settled_at.is_(None)))
    by_status: dict[MessageStatus, int] = dict(
        db.execute(select(NoticeMessage.status, func.count()).group_by(NoticeMessage.status)).all()
    )
    month = datetime.now(UTC).strftime("%Y-%m")
    line = db.get(ChannelState, Channel.LINE)
    used = line.sent_this_month if line is not None and line.month == month else 0
    return {
        "intents_waiting": int(waiting or 0),
        **{f"messages_{s.value}": int(by_status.get(s, 0)) for s in MessageStatus},
        "line_month": month,
        "line_sent_this_month": int(used),
        "line_monthly_quota": get_settings().line_monthly_quota,
        "line_paused_until": line.paused_until if line is not None else None,
    }


def messages(
    db: Session, *, status: MessageStatus | None = None, limit: int = 50
) -> list[tuple[NoticeMessage, str]]:
    """The newest messages (of one state), each with its contact's name."""
    query = (
        select(NoticeMessage, Contact.name)
        .join(Contact, Contact.id == NoticeMessage.contact_id)
        .order_by(NoticeMessage.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(NoticeMessage.status == status)
    return [(m, name) for m, name in db.execute(query)]


def deliveries(db: Session, *, limit: int = 50) -> list[NoticeDelivery]:
    """The newest delivery attempts, with the providers' answers."""
    return list(db.scalars(select(NoticeDelivery).order_by(NoticeDelivery.id.desc()).limit(limit)))


def send_again(db: Session, *, message_id: int, actor: Actor) -> NoticeMessage:
    """Put a dead or held message back in the queue, its attempts counted afresh."""
    message = db.get(NoticeMessage, message_id)
    if message is None:
        raise NotFound(say("notice.no-message", "there is no such message"))
    if message.status not in (MessageStatus.DEAD, MessageStatus.HELD):
        raise Conflict(say("notice.not-stuck", "only a dead or held message can be sent again"))
    db.execute(
        update(NoticeMessage)
        .where(NoticeMessage.id == message_id)
        .values(status=MessageStatus.PENDING, attempts=0, next_attempt_at=func.now())
    )
    audit.record(
        db,
        actor=actor,
        action="notice.send-again",
        subject_type="notice_message",
        subject_id=message_id,
        details={"status": message.status.value, "attempts": message.attempts},
    )
    db.refresh(message)
    return message
