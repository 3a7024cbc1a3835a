"""/api/me and /api/calendar-feeds: who the token is, and calendar feed keys."""

from __future__ import annotations

from fastapi import Depends

from komawari.auth import feeds
from komawari.auth.dependencies import FeedRotation, Me
from komawari.auth.schemas import FeedRead, MeRead
from komawari.web.deps import Caller, Db, refuse_idempotency_key
from komawari.web.routing import api_router

router = api_router("", "auth")


@router.get("/me", summary="Who this token is")
def me(who: Me) -> MeRead:
    """Return the caller: user, role, branches and token."""
    return MeRead(
        user_id=who.user_id,
        username=who.username,
        role=who.role,
        token_id=who.token_id,
        branch_ids=sorted(who.branch_ids),
        teacher_id=who.teacher_id,
    )


@router.post(
    "/calendar-feeds",
    status_code=201,
    summary="Create or rotate a feed key",
    dependencies=[Depends(refuse_idempotency_key)],
)
def rotate_feed(feed: FeedRotation, db: Db, who: Caller) -> FeedRead:
    """Give a calendar feed a new secret key (admin; a teacher for its own feed)."""
    key = feeds.rotate(db, owner_type=feed.owner_type, owner_id=feed.owner_id, actor=who.actor)
    return FeedRead(
        owner_type=feed.owner_type,
        owner_id=feed.owner_id,
        key=key,
        url=feeds.feed_path(feed.owner_type, feed.owner_id, key),
    )
