"""Users, roles and API tokens (hashed at rest); who may do what is `policy.py`.

A token is a high-entropy secret shown once; only its SHA-256 is stored, so a lookup is
one indexed equality. Passwords (for people, not for the API) use argon2.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.auth.enums import Role
from komawari.auth.models import ApiToken, User, UserBranch, WebSession
from komawari.auth.policy import Principal
from komawari.branches.models import Branch
from komawari.errors import InvalidInput, NotFound, Unauthorized
from komawari.people.models import Teacher
from komawari.words import Say, say

TOKEN_PREFIX = "kmw_"  # noqa: S105 - a marker, not a secret
MIN_PASSWORD = 10  # characters
_hasher = PasswordHasher()

NAME_LENGTH = say("user.name-length", "a user name of 1 to 150 characters is required")
TEACHER_NEEDED = say("user.teacher-needed", "a teacher user needs the teacher it is: pick one")


def name_taken(username: str) -> Say:
    """The refusal of a user name another user has."""
    return say("user.duplicate-name", "user %(name)s already exists", name=username)


def no_such_user(username: str) -> Say:
    """The refusal of a user name nobody has."""
    return say("user.name-not-found", "user %(name)s does not exist", name=username)


def password_too_short() -> Say:
    """The refusal of a password shorter than MIN_PASSWORD."""
    return say("password.too-short", "at least %(min)s characters", min=MIN_PASSWORD)


def hash_secret(secret: str) -> str:
    """Return the SHA-256 (hex) under which a token or feed key is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(prefix: str = TOKEN_PREFIX) -> str:
    """Return a fresh secret with 256 bits of entropy."""
    return prefix + secrets.token_urlsafe(32)


def get_user(db: Session, username: str) -> User | None:
    """Return the user called `username`, if any."""
    return db.scalar(select(User).where(User.username == username))


def ensure_user(
    db: Session,
    *,
    username: str,
    actor: Actor,
    role: Role | None = None,
    branch_ids: list[int] | None = None,
    teacher_id: int | None = None,
) -> tuple[User, bool]:
    """Return the user (created when missing), granting the given branches; True if new."""
    username = username.strip()
    if not username or len(username) > 150:
        raise InvalidInput("user", NAME_LENGTH)
    # Before the user is added: a pending user would be flushed by this query.
    if teacher_id is not None and db.get(Teacher, teacher_id) is None:
        raise InvalidInput(
            "teacher", say("teacher.not-found", "teacher %(id)s does not exist", id=teacher_id)
        )
    user = get_user(db, username)
    created = user is None
    if user is None:
        if role is None:
            raise InvalidInput(
                "role",
                say(
                    "user.role-needed",
                    "user %(name)s does not exist; give a role to create",
                    name=username,
                ),
            )
        if role == Role.TEACHER and teacher_id is None:
            raise InvalidInput("teacher", TEACHER_NEEDED)
        user = User(username=username, role=role, teacher_id=teacher_id)
        db.add(user)
    elif role is not None and role != user.role:
        raise InvalidInput(
            "role",
            say(
                "user.role-differs",
                "user %(name)s exists with role %(role)s",
                name=username,
                role=user.role,
            ),
        )
    if teacher_id is not None:
        user.teacher_id = teacher_id
    db.flush()
    for branch_id in dict.fromkeys(branch_ids or []):
        if db.get(Branch, branch_id) is None:
            raise InvalidInput(
                "branch", say("branch.not-found", "branch %(id)s does not exist", id=branch_id)
            )
        db.execute(
            text(
                "INSERT INTO user_branches (user_id, branch_id) VALUES (:u, :b) "
                "ON CONFLICT DO NOTHING"
            ),
            {"u": user.id, "b": branch_id},
        )
    if created or branch_ids:
        audit.record(
            db,
            actor=actor,
            action="user.create" if created else "user.grant",
            subject_type="user",
            subject_id=user.id,
            details={"username": username, "role": user.role.value, "branch_ids": branch_ids},
        )
    return user, created


def user_branch_ids(db: Session, user_id: int) -> list[int]:
    """Return the branches a user works at."""
    return list(
        db.scalars(
            select(UserBranch.branch_id)
            .where(UserBranch.user_id == user_id)
            .order_by(UserBranch.branch_id)
        )
    )


def list_users(db: Session) -> list[User]:
    """List users by name."""
    return list(db.scalars(select(User).order_by(User.username)))


def set_password(db: Session, *, username: str, password: str, actor: Actor) -> None:
    """Set a user's password (argon2)."""
    user = get_user(db, username)
    if user is None:
        raise NotFound(no_such_user(username))
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("password", password_too_short())
    user.password_hash = hash_password(password)
    # A new password ends every web session the old one opened.
    db.execute(
        update(WebSession)
        .where(WebSession.user_id == user.id, WebSession.ended_at.is_(None))
        .values(ended_at=func.now())
    )
    db.flush()
    audit.record(db, actor=actor, action="user.password", subject_type="user", subject_id=user.id)


def hash_password(password: str) -> str:
    """Return the argon2 hash of a password."""
    return _hasher.hash(password)


def password_matches(user: User, password: str) -> bool:
    """Tell whether `password` is the user's (False when they have none)."""
    if user.password_hash is None:
        return False
    try:
        return bool(_hasher.verify(user.password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


_WRONG_PASSWORD = say("sign-in.failed", "unknown user or wrong password")


def verify_password(db: Session, *, username: str, password: str) -> User:
    """Return the active user whose password this is, or raise Unauthorized."""
    user = get_user(db, username)
    if user is None or not user.is_active or user.password_hash is None:
        # An unknown, disabled or password-less user costs the same argon2 verify as a
        # wrong password, so the time of the answer does not tell which names exist.
        user, stored = None, _dummy_hash()
    else:
        stored = user.password_hash
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError) as exc:
        raise Unauthorized(_WRONG_PASSWORD) from exc
    if user is None:  # pragma: no cover - nobody knows the dummy's password
        raise Unauthorized(_WRONG_PASSWORD)
    return user


@functools.cache
def _dummy_hash() -> str:
    """Return a hash, with the hasher's parameters, of a password nobody knows."""
    return _hasher.hash(secrets.token_urlsafe(32))


def create_token(
    db: Session,
    *,
    user: User,
    name: str,
    actor: Actor,
    expires_in: timedelta | None = None,
) -> tuple[ApiToken, str]:
    """Create an API token for `user`; return it and its secret (shown once, never stored)."""
    secret = new_secret()
    token = ApiToken(
        user_id=user.id,
        name=(name.strip() or "token")[:150],
        prefix=secret[:12],
        token_hash=hash_secret(secret),
        # None: the token never expires (the default; `token create --expires-in 90d`).
        expires_at=datetime.now(UTC) + expires_in if expires_in is not None else None,
    )
    db.add(token)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="token.create",
        subject_type="token",
        subject_id=token.id,
        details={
            "user": user.username,
            "name": token.name,
            "prefix": token.prefix,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        },
    )
    return token, secret


def list_tokens(
    db: Session, *, username: str | None = None, include_revoked: bool = False
) -> list[tuple[ApiToken, User]]:
    """List tokens with their users, newest first."""
    query = select(ApiToken, User).join(User, User.id == ApiToken.user_id)
    if username is not None:
        query = query.where(User.username == username)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return [(t, u) for t, u in db.execute(query.order_by(ApiToken.id.desc()))]


def revoke_token(db: Session, token_id: int, *, actor: Actor) -> ApiToken:
    """Revoke a token: it stops working at once."""
    token = db.get(ApiToken, token_id)
    if token is None:
        raise NotFound(say("token.not-found", "token %(id)s does not exist", id=token_id))
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        db.flush()
        audit.record(
            db,
            actor=actor,
            action="token.revoke",
            subject_type="token",
            subject_id=token.id,
            details={"prefix": token.prefix},
        )
    return token


# The caller of a token, with its branches, in one statement (a CTE other statements of
# the hot read path may extend: `branches/versions.py`). A valid token's last use is
# noted at most once a minute, non-blocking: a concurrent request holding the row skips it.
CALLER_CTE = """
caller AS (
    SELECT t.id AS token_id, t.revoked_at, t.expires_at, u.id AS user_id, u.username,
           u.role::text AS role, u.is_active, u.teacher_id,
           ARRAY(SELECT ub.branch_id FROM user_branches ub WHERE ub.user_id = u.id)
             AS branch_ids
      FROM api_tokens t JOIN users u ON u.id = t.user_id
     WHERE t.token_hash = :token_hash
), touched AS (
    UPDATE api_tokens SET last_used_at = now() WHERE id IN (
        SELECT a.id FROM api_tokens a JOIN caller c ON c.token_id = a.id
         WHERE c.revoked_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > now())
           AND c.is_active
           AND (a.last_used_at IS NULL OR a.last_used_at < now() - interval '1 minute')
           FOR UPDATE OF a SKIP LOCKED)
)"""
_CALLER_SQL = text(f"WITH {CALLER_CTE} SELECT * FROM caller")  # noqa: S608 - constants


def token_hash(secret: str | None) -> str:
    """Return the hash a bearer token is looked up by, or raise Unauthorized for none."""
    if not secret:
        raise Unauthorized(
            say("token.missing", "send an API token as 'Authorization: Bearer <token>'")
        )
    return hash_secret(secret)


def principal_of(row: Mapping[Any, Any] | None) -> Principal:
    """Return the caller of a row of CALLER_CTE, or raise Unauthorized saying why."""
    if row is None:
        raise Unauthorized(say("token.not-valid", "the API token is not valid"))
    if row["revoked_at"] is not None:
        raise Unauthorized(say("token.revoked", "the API token was revoked"))
    expires_at = row["expires_at"]
    if expires_at is not None and expires_at <= datetime.now(UTC):
        at = expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
        raise Unauthorized(
            say("token.expired", "the API token expired at %(at)s UTC; ask for a new one", at=at)
        )
    if not row["is_active"]:
        raise Unauthorized(say("token.user-disabled", "the user of this API token is disabled"))
    return Principal(
        user_id=row["user_id"],
        username=row["username"],
        role=Role(row["role"]),
        token_id=row["token_id"],
        branch_ids=frozenset(row["branch_ids"]),
        teacher_id=row["teacher_id"],
    )


def authenticate(db: Session, secret: str | None) -> Principal:
    """Return the caller of a bearer token, or raise Unauthorized saying why."""
    found = db.execute(_CALLER_SQL, {"token_hash": token_hash(secret)}).mappings().first()
    return principal_of(found)
