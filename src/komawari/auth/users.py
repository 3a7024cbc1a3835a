"""People who sign in: create one with a password, disable one (everything they hold
ends at once), and remove a branch grant."""

from __future__ import annotations

from sqlalchemy import delete, func, update
from sqlalchemy.orm import Session

from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.auth import service as auth
from komawari.auth import web_sessions
from komawari.auth.enums import Role
from komawari.auth.models import ApiToken, User, UserBranch
from komawari.errors import Conflict, InvalidInput, NotFound
from komawari.words import say


def create(
    db: Session,
    *,
    username: str,
    role: Role,
    password: str,
    branch_ids: list[int],
    teacher_id: int | None,
    actor: Actor,
) -> User:
    """Create a user who signs in with `password`; refuse a name already taken."""
    if auth.get_user(db, username.strip()) is not None:
        raise Conflict(auth.name_taken(username.strip()))
    if role == Role.STAFF and not branch_ids:
        raise InvalidInput(
            "branch",
            say(
                "user.staff-needs-branch-flag",
                "a staff user works at one branch or more: give --branch",
            ),
        )
    user, _ = auth.ensure_user(
        db,
        username=username,
        role=role,
        branch_ids=branch_ids,
        teacher_id=teacher_id,
        actor=actor,
    )
    auth.set_password(db, username=user.username, password=password, actor=actor)
    return user


def disable(db: Session, *, username: str, actor: Actor) -> dict[str, int]:
    """Disable a user: their tokens are revoked and their web sessions end at once."""
    user = auth.get_user(db, username)
    if user is None:
        raise NotFound(auth.no_such_user(username))
    user.is_active = False
    tokens = db.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
    ended = {
        "tokens_revoked": int(getattr(tokens, "rowcount", 0) or 0),
        "web_sessions_ended": web_sessions.end_all(db, user_id=user.id),
    }
    audit.record(
        db,
        actor=actor,
        action="user.disable",
        subject_type="user",
        subject_id=user.id,
        details={"username": user.username, **ended},
    )
    return ended


def revoke_branch(db: Session, *, username: str, branch_id: int, actor: Actor) -> None:
    """Remove a user's grant to a branch (their open sessions lose it at once)."""
    user = auth.get_user(db, username)
    if user is None:
        raise NotFound(auth.no_such_user(username))
    result = db.execute(
        delete(UserBranch).where(UserBranch.user_id == user.id, UserBranch.branch_id == branch_id)
    )
    if not getattr(result, "rowcount", 0):
        raise InvalidInput(
            "branch",
            say(
                "user.no-grant",
                "user %(name)s has no grant to branch %(branch_id)s",
                name=username,
                branch_id=branch_id,
            ),
        )
    audit.record(
        db,
        actor=actor,
        action="user.revoke_branch",
        subject_type="user",
        subject_id=user.id,
        details={"username": user.username, "branch_id": branch_id},
    )
