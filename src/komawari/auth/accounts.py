"""Users managed from the browser: made with a one-time set-password link, their role and
branches changed, disabled and enabled, their sessions ended, a reset link issued; and a
user's own password changed from `/me`.

An admin never types another person's password. A new user gets a link that sets it, shown
once to the admin to hand over; a reset ends the old password at once and gives a new
link. A link holds a 256-bit secret and its row only the SHA-256. It works once: using it
is one `UPDATE ... WHERE used_at IS NULL AND expires_at > now()`, so two uses of one link,
in any number of processes, set one password. A newer link of the same user replaces the
older ones.

One guard keeps the school manageable: the last active admin cannot be disabled or lose
the admin role. The active admins are locked before they are counted, so two admins who
disable each other at the same moment cannot both succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.auth import service as auth
from komawari.auth import users, web_sessions
from komawari.auth.enums import Role
from komawari.auth.models import PasswordLink, User, UserBranch, WebSession
from komawari.branches.models import Branch
from komawari.errors import Conflict, InvalidInput, NotFound
from komawari.people.models import Teacher
from komawari.scheduling import clock
from komawari.words import say

LINK_LIFETIME = timedelta(hours=24)
LINK_PREFIX = "kpw_"


@dataclass(frozen=True)
class IssuedLink:
    """A link just made: its secret is shown once and never stored."""

    user: User
    secret: str
    purpose: str
    expires_at: datetime

    @property
    def path(self) -> str:
        """The page that opens the link."""
        return f"/password/{self.secret}"


@dataclass(frozen=True)
class UserRow:
    """One line of the users' list."""

    user: User
    branches: list[tuple[int, str]]
    teacher: str | None
    open_sessions: int
    link_expires_at: datetime | None  # an unused set or reset link, while it works

    @property
    def state(self) -> str:
        """active, disabled, waiting (for their link) or no-password."""
        if not self.user.is_active:
            return "disabled"
        if self.user.password_hash is not None:
            return "active"
        return "waiting" if self.link_expires_at is not None else "no-password"


def _user(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFound(say("user.not-found", "user %(id)s does not exist", id=user_id))
    return user


def get(db: Session, user_id: int) -> User:
    """Return a user by id, or raise NotFound."""
    return _user(db, user_id)


def overview(db: Session) -> list[UserRow]:
    """Every user with their branches, teacher, open sessions and any working link."""
    branch_names = dict(db.execute(select(Branch.id, Branch.name)).all())
    teacher_names = dict(db.execute(select(Teacher.id, Teacher.name)).all())
    grants: dict[int, list[int]] = {}
    for user_id, branch_id in db.execute(
        select(UserBranch.user_id, UserBranch.branch_id).order_by(UserBranch.branch_id)
    ):
        grants.setdefault(user_id, []).append(branch_id)
    now = func.now()
    sessions = dict(
        db.execute(
            select(WebSession.user_id, func.count())
            .where(WebSession.ended_at.is_(None), WebSession.expires_at > now)
            .group_by(WebSession.user_id)
        ).all()
    )
    links = dict(
        db.execute(
            select(PasswordLink.user_id, func.max(PasswordLink.expires_at))
            .where(PasswordLink.used_at.is_(None), PasswordLink.expires_at > now)
            .group_by(PasswordLink.user_id)
        ).all()
    )
    return [
        UserRow(
            user=u,
            branches=[(b, branch_names.get(b, str(b))) for b in grants.get(u.id, [])],
            teacher=teacher_names.get(u.teacher_id) if u.teacher_id else None,
            open_sessions=int(sessions.get(u.id, 0)),
            link_expires_at=links.get(u.id),
        )
        for u in auth.list_users(db)
    ]


def _check_grants(db: Session, role: Role, branch_ids: list[int], teacher_id: int | None) -> None:
    if role == Role.STAFF and not branch_ids:
        raise InvalidInput(
            "branch_ids",
            say("user.staff-needs-branch", "a staff user works at one branch or more: tick one"),
        )
    if role == Role.TEACHER and teacher_id is None:
        raise InvalidInput("teacher_id", auth.TEACHER_NEEDED)
    known = set(db.scalars(select(Branch.id).where(Branch.id.in_(branch_ids))))
    missing = [b for b in branch_ids if b not in known]
    if missing:
        raise InvalidInput(
            "branch_ids", say("branch.not-found", "branch %(id)s does not exist", id=missing[0])
        )
    if teacher_id is not None and db.get(Teacher, teacher_id) is None:
        raise InvalidInput(
            "teacher_id", say("teacher.not-found", "teacher %(id)s does not exist", id=teacher_id)
        )


def create(
    db: Session,
    *,
    username: str,
    role: Role,
    branch_ids: list[int],
    teacher_id: int | None,
    actor: Actor,
) -> IssuedLink:
    """Create a user without a password, and the one-time link that sets it."""
    username = username.strip()
    if not username or len(username) > 150:
        raise InvalidInput("username", auth.NAME_LENGTH)
    if any(c.isspace() for c in username):
        raise InvalidInput("username", say("user.name-has-space", "a user name has no spaces"))
    branch_ids = list(dict.fromkeys(branch_ids))
    _check_grants(db, role, branch_ids, teacher_id)
    if auth.get_user(db, username) is not None:
        raise Conflict(auth.name_taken(username))
    user, _ = auth.ensure_user(
        db,
        username=username,
        role=role,
        branch_ids=branch_ids,
        teacher_id=teacher_id if role == Role.TEACHER else None,
        actor=actor,
    )
    return _issue(db, user, "set", actor=actor)


def _issue(db: Session, user: User, purpose: str, *, actor: Actor) -> IssuedLink:
    """Make a link for `user`; their older unused links stop working."""
    db.execute(
        delete(PasswordLink).where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None))
    )
    secret = auth.new_secret(LINK_PREFIX)
    now = clock.db_now(db)
    link = PasswordLink(
        user_id=user.id,
        token_hash=auth.hash_secret(secret),
        purpose=purpose,
        created_at=now,
        expires_at=now + LINK_LIFETIME,
    )
    db.add(link)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="user.password_link",
        subject_type="user",
        subject_id=user.id,
        details={"username": user.username, "purpose": purpose, "expires_at": str(link.expires_at)},
    )
    return IssuedLink(user, secret, purpose, link.expires_at)


def reset(db: Session, *, user_id: int, actor: Actor) -> IssuedLink:
    """End the user's password and sessions now, and give a link that sets a new one."""
    user = _user(db, user_id)
    if not user.is_active:
        raise InvalidInput(
            "user",
            say("user.disabled", "%(name)s is disabled: enable them first", name=user.username),
        )
    user.password_hash = None
    ended = web_sessions.end_all(db, user_id=user.id)
    audit.record(
        db,
        actor=actor,
        action="user.password_reset",
        subject_type="user",
        subject_id=user.id,
        details={"username": user.username, "web_sessions_ended": ended},
    )
    return _issue(db, user, "reset", actor=actor)


def link_user(db: Session, secret: str | None) -> User | None:
    """Return the active user a working link belongs to, or None (used, expired, unknown)."""
    if not secret or not secret.startswith(LINK_PREFIX) or len(secret) > 100:
        return None
    return db.scalar(
        select(User)
        .join(PasswordLink, PasswordLink.user_id == User.id)
        .where(
            PasswordLink.token_hash == auth.hash_secret(secret),
            PasswordLink.used_at.is_(None),
            PasswordLink.expires_at > func.now(),
            User.is_active.is_(True),
        )
    )


class LinkUsed(NotFound):
    """A set-password link that was used, has expired, or never existed (one answer)."""

    problem_type = "/problems/password-link"
    title = "Link not usable"

    def __init__(self) -> None:
        super().__init__(
            say(
                "password-link.unusable",
                "this link has been used or has expired; ask an administrator for a new one",
            )
        )


def use_link(db: Session, *, secret: str, password: str, repeat: str) -> User:
    """Set the password of the link's user, once; every session they had ends."""
    check_new_password(password, repeat)
    user = link_user(db, secret)
    if user is None:
        raise LinkUsed
    claimed = db.execute(
        update(PasswordLink)
        .where(
            PasswordLink.token_hash == auth.hash_secret(secret),
            PasswordLink.used_at.is_(None),
            PasswordLink.expires_at > func.now(),
        )
        .values(used_at=func.now())
        .returning(PasswordLink.id)
    ).scalar_one_or_none()
    if claimed is None:  # used by a concurrent request since it was read
        raise LinkUsed
    auth.set_password(
        db,
        username=user.username,
        password=password,
        actor=Actor("user", f"user:{user.username}", extra={"user_id": user.id, "link": claimed}),
    )
    return user


def check_new_password(password: str, repeat: str) -> None:
    """Refuse a new password that is too short or not typed the same twice."""
    if len(password) < auth.MIN_PASSWORD:
        raise InvalidInput("password", auth.password_too_short())
    if len(password) > 1000:
        raise InvalidInput(
            "password", say("password.too-long", "at most %(max)s characters", max=1000)
        )
    if password != repeat:
        raise InvalidInput("repeat", say("password.repeat-differs", "the two passwords differ"))


def change_own(
    db: Session, *, user_id: int, keep_session_id: int, current: str, password: str, repeat: str
) -> int:
    """Change the signed-in user's password; every other session of theirs ends.

    Return how many other sessions ended.
    """
    user = _user(db, user_id)
    if not current or not auth.password_matches(user, current):
        raise InvalidInput(
            "current", say("password.wrong-current", "this is not your current password")
        )
    check_new_password(password, repeat)
    user.password_hash = auth.hash_password(password)
    result = db.execute(
        update(WebSession)
        .where(
            WebSession.user_id == user.id,
            WebSession.ended_at.is_(None),
            WebSession.id != keep_session_id,
        )
        .values(ended_at=func.now())
    )
    ended = int(getattr(result, "rowcount", 0) or 0)
    audit.record(
        db,
        actor=Actor("user", f"user:{user.username}", extra={"user_id": user.id}),
        action="user.password",
        subject_type="user",
        subject_id=user.id,
        details={"username": user.username, "other_sessions_ended": ended},
    )
    return ended


def _lock_admins(db: Session) -> list[int]:
    """Lock the active admins (in id order) and return their ids."""
    return list(
        db.scalars(
            select(User.id)
            .where(User.role == Role.ADMIN, User.is_active.is_(True))
            .order_by(User.id)
            .with_for_update()
        )
    )


def _keep_an_admin(db: Session, user: User, field: str) -> None:
    admins = _lock_admins(db)
    if admins == [user.id]:
        raise Conflict(
            say(
                "user.last-admin",
                "%(name)s is the last active admin: make another admin first",
                name=user.username,
            ),
            field=field,
        )


def update_grants(
    db: Session,
    *,
    user_id: int,
    role: Role,
    branch_ids: list[int],
    teacher_id: int | None,
    actor: Actor,
) -> User:
    """Set a user's role, branches and teacher, as the form has them."""
    user = _user(db, user_id)
    branch_ids = list(dict.fromkeys(branch_ids))
    _check_grants(db, role, branch_ids, teacher_id)
    if user.role == Role.ADMIN and role != Role.ADMIN and user.is_active:
        _keep_an_admin(db, user, "role")
    before = {
        "role": user.role.value,
        "branch_ids": sorted(auth.user_branch_ids(db, user.id)),
        "teacher_id": user.teacher_id,
    }
    user.role = role
    user.teacher_id = teacher_id if role == Role.TEACHER else None
    db.execute(delete(UserBranch).where(UserBranch.user_id == user.id))
    db.add_all(UserBranch(user_id=user.id, branch_id=b) for b in branch_ids)
    db.flush()
    after = {"role": role.value, "branch_ids": sorted(branch_ids), "teacher_id": user.teacher_id}
    if after != before:
        audit.record(
            db,
            actor=actor,
            action="user.update",
            subject_type="user",
            subject_id=user.id,
            details={"username": user.username, "before": before, "after": after},
        )
    return user


def disable(db: Session, *, user_id: int, actor: Actor) -> dict[str, int]:
    """Disable a user (tokens revoked, sessions ended); never the last active admin."""
    user = _user(db, user_id)
    if not user.is_active:
        return {"tokens_revoked": 0, "web_sessions_ended": 0}
    if user.role == Role.ADMIN:
        _keep_an_admin(db, user, "user")
    return users.disable(db, username=user.username, actor=actor)


def enable(db: Session, *, user_id: int, actor: Actor) -> User:
    """Let a disabled user sign in again (with their password, or a new link)."""
    user = _user(db, user_id)
    if not user.is_active:
        user.is_active = True
        db.flush()
        audit.record(
            db,
            actor=actor,
            action="user.enable",
            subject_type="user",
            subject_id=user.id,
            details={"username": user.username},
        )
    return user


def end_sessions(db: Session, *, user_id: int, actor: Actor) -> int:
    """End every open web session of a user; return how many."""
    user = _user(db, user_id)
    ended = web_sessions.end_all(db, user_id=user.id)
    audit.record(
        db,
        actor=actor,
        action="user.end_sessions",
        subject_type="user",
        subject_id=user.id,
        details={"username": user.username, "web_sessions_ended": ended},
    )
    return ended
