"""The operator's page of the outbox: what waits, what went, the dead letters."""

from __future__ import annotations

from fastapi.responses import RedirectResponse, Response

from komawari.auth.dependencies import AdminCaller
from komawari.config import get_settings
from komawari.notices import operator
from komawari.notices.drain import configured
from komawari.notices.enums import Channel, MessageStatus
from komawari.web.deps import Db
from komawari.web.pages import CsrfChecked, UserPage
from komawari.web.routing import page_router

router = page_router()


@router.get("/operator/notices")
def notices_page(page: UserPage, who: AdminCaller, db: Db) -> Response:
    """Show the outbox: counts, the queue, the dead letters and the latest deliveries."""
    return page.render(
        "notices_operator.html",
        counts=operator.counts(db),
        waiting=operator.messages(db, status=MessageStatus.PENDING, limit=50),
        held=operator.messages(db, status=MessageStatus.HELD, limit=50),
        dead=operator.messages(db, status=MessageStatus.DEAD, limit=50),
        deliveries=operator.deliveries(db, limit=50),
        email_ready=configured(Channel.EMAIL),
        line_ready=configured(Channel.LINE),
        zone=get_settings().default_timezone,
        done=page.request.query_params.get("done"),
    )


@router.post("/operator/notices/{message_id}/send-again", dependencies=[CsrfChecked])
def send_again(message_id: int, who: AdminCaller, db: Db) -> Response:
    """Put a dead or held message back in the queue."""
    operator.send_again(db, message_id=message_id, actor=who.actor)
    return RedirectResponse(f"/operator/notices?done={message_id}#dead", status_code=303)
