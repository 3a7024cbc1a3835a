"""Users, their branches, API tokens, web sessions, sign-in failures, idempotency and feed keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from komawari.auth.enums import Role
from komawari.db.base import Base, CreatedMixin, IdMixin, pg_enum


class User(IdMixin, CreatedMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("username"),
        CheckConstraint("role <> 'teacher' OR teacher_id IS NOT NULL", name="teacher_has_teacher"),
        CheckConstraint("locale IN ('en', 'ja')", name="locale_known"),
    )

    username: Mapped[str] = mapped_column(String(150))
    role: Mapped[Role] = mapped_column(pg_enum(Role, "user_role"))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("teachers.id"))
    is_active: Mapped[bool] = mapped_column(server_default="true")
    # The language of the pages ('en', 'ja'); None follows the browser's Accept-Language.
    locale: Mapped[str | None] = mapped_column(String(8))
    # The branch whose pages the user saw last: sign-in lands there.
    last_branch_id: Mapped[int | None] = mapped_column(
        ForeignKey("branches.id", ondelete="SET NULL")
    )
    # The user's last sign-in to the pages (sessions are purged; this stays).
    last_sign_in_at: Mapped[datetime | None] = mapped_column()


class PasswordLink(IdMixin, CreatedMixin, Base):
    """A one-time link that sets a user's password: made by an admin for a new user
    ('set') or in place of a forgotten password ('reset'). The link holds a secret, the
    row only its SHA-256; it works once (`used_at`), until `expires_at`."""

    __tablename__ = "password_links"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        CheckConstraint("purpose IN ('set', 'reset')", name="purpose_known"),
        CheckConstraint("expires_at > created_at", name="expires_after_made"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(128))
    purpose: Mapped[str] = mapped_column(String(8))
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class UserBranch(Base):
    __tablename__ = "user_branches"
    __table_args__ = (PrimaryKeyConstraint("user_id", "branch_id"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))


class ApiToken(IdMixin, CreatedMixin, Base):
    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_hash"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(150))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(128))
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    # None: the token does not expire (the default of `token create`).
    expires_at: Mapped[datetime | None] = mapped_column()


class IdempotencyKey(IdMixin, Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[Any | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    completed_at: Mapped[datetime | None] = mapped_column()


class CalendarFeed(IdMixin, CreatedMixin, Base):
    __tablename__ = "calendar_feeds"
    __table_args__ = (
        UniqueConstraint("owner_type", "owner_id"),
        CheckConstraint("owner_type IN ('teacher', 'student')", name="owner_type_valid"),
    )

    owner_type: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int] = mapped_column(BigInteger)
    key_hash: Mapped[str] = mapped_column(String(128))
    rotated_at: Mapped[datetime | None] = mapped_column()


class WebSession(IdMixin, CreatedMixin, Base):
    """A signed-in browser: the cookie holds a secret, the row only its SHA-256."""

    __tablename__ = "web_sessions"
    __table_args__ = (UniqueConstraint("token_hash"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(128))
    last_seen_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    address: Mapped[str | None] = mapped_column(String(64))


class SignInFailure(IdMixin, Base):
    """A failed sign-in, counted per user name and per address to throttle guessing."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("ix_sign_in_failures_username_at", "username", "at"),
        Index("ix_sign_in_failures_address_at", "address", "at"),
    )

    username: Mapped[str] = mapped_column(String(150))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(server_default=func.now())
