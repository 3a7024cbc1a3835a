"""Contacts, the outbox of notice intents, the messages made of them and their deliveries.

PostgreSQL keeps the outbox's promise: an intent is unique per (contact, kind, lesson,
series, credit, version), so a retried or repeated change cannot write a second one
(`uq_notice_intents_key`), and an intent belongs to at most one message.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from komawari.db.base import Base, CreatedMixin, IdMixin, pg_enum
from komawari.notices.enums import Channel, MessageStatus, NoticeKind, Relation

INTENT_KEY = "uq_notice_intents_key"
LINE_USER_GUARD = "uq_contacts_line_user_id"


class Contact(IdMixin, CreatedMixin, Base):
    """A person who hears about lessons: a guardian, a student themself, or a teacher."""

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("line_user_id", name=LINE_USER_GUARD),
        UniqueConstraint("teacher_id"),
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
        CheckConstraint("language IN ('en', 'ja')", name="language_known"),
    )

    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    line_user_id: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(2), server_default="ja")
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("teachers.id"))
    # Per kind of notice, the channels it goes by ({"reminder": []} mutes reminders); a
    # kind not named goes by LINE when the contact has it, else by email.
    preferences: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    quiet_start: Mapped[time] = mapped_column(Time, server_default="21:00")
    quiet_end: Mapped[time] = mapped_column(Time, server_default="08:00")
    active: Mapped[bool] = mapped_column(server_default="true")


class ContactStudent(Base):
    """A contact of a student: one guardian of several children is one contact."""

    __tablename__ = "contact_students"
    __table_args__ = (Index("ix_contact_students_student_id", "student_id"),)

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), primary_key=True)
    relation: Mapped[Relation] = mapped_column(pg_enum(Relation, "contact_relation"))


class NoticeIntent(IdMixin, Base):
    """That a person should hear of a change, written in the change's own transaction."""

    __tablename__ = "notice_intents"
    __table_args__ = (
        UniqueConstraint(
            "contact_id",
            "kind",
            "session_id",
            "series_id",
            "credit_id",
            "version",
            name=INTENT_KEY,
            postgresql_nulls_not_distinct=True,
        ),
        Index(
            "ix_notice_intents_pending",
            "contact_id",
            "created_at",
            postgresql_where=text("settled_at IS NULL"),
        ),
        # Partial: the "new series" intents name no lesson, and no message until planned.
        Index(
            "ix_notice_intents_session_id",
            "session_id",
            postgresql_where=text("session_id IS NOT NULL"),
        ),
        Index(
            "ix_notice_intents_message_id",
            "message_id",
            postgresql_where=text("message_id IS NOT NULL"),
        ),
    )

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    kind: Mapped[NoticeKind] = mapped_column(pg_enum(NoticeKind, "notice_kind"))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("class_sessions.id", ondelete="CASCADE")
    )
    series_id: Mapped[int | None] = mapped_column(ForeignKey("class_series.id"))
    credit_id: Mapped[int | None] = mapped_column(ForeignKey("credits.id"))
    version: Mapped[int] = mapped_column(Integer, server_default="0")
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    # Whose lesson it is (a guardian's child; none for a teacher's own lesson).
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id"))
    # The lesson before this change: {date, start, end, teacher_id, room_id, cancelled}.
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=text("statement_timestamp()"))
    settled_at: Mapped[datetime | None] = mapped_column()
    message_id: Mapped[int | None] = mapped_column(ForeignKey("notice_messages.id"))
    # Why it was settled without a message: "undone", "gone", "muted".
    dropped: Mapped[str | None] = mapped_column(String(20))


class NoticeMessage(IdMixin, CreatedMixin, Base):
    """One message to one contact by one channel, made of that person's due intents."""

    __tablename__ = "notice_messages"
    __table_args__ = (
        Index(
            "ix_notice_messages_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_notice_messages_contact_id", "contact_id"),
    )

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[Channel] = mapped_column(pg_enum(Channel, "notice_channel"))
    address: Mapped[str | None] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(2))
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    kinds: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    status: Mapped[MessageStatus] = mapped_column(
        pg_enum(MessageStatus, "notice_message_status"), server_default="pending"
    )
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    last_error: Mapped[str | None] = mapped_column(Text)
    # LINE's X-Line-Retry-Key and the email's Message-ID derive from it: the same on
    # every attempt, so a retry after a timeout is recognised by the receiver.
    key: Mapped[uuid.UUID] = mapped_column(UUID, server_default=text("gen_random_uuid()"))
    sent_at: Mapped[datetime | None] = mapped_column()
    # A sender's lease on the message while it sends (a sender that dies gives it up when
    # the lease ends; another then sends it, with the same key).
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column()


class NoticeDelivery(IdMixin, Base):
    """One attempt to send a message, with the provider's answer."""

    __tablename__ = "notice_deliveries"
    __table_args__ = (Index("ix_notice_deliveries_message_id", "message_id"),)

    message_id: Mapped[int] = mapped_column(ForeignKey("notice_messages.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    outcome: Mapped[str] = mapped_column(String(20))
    status_code: Mapped[int | None] = mapped_column(Integer)
    answer: Mapped[str | None] = mapped_column(Text)


class LineLinkCode(Base):
    """A one-time code a family sends to the school's LINE account to link a contact."""

    __tablename__ = "line_link_codes"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class ChannelState(Base):
    """A channel's state shared by every worker: LINE's 429 pause and its monthly count."""

    __tablename__ = "notice_channel_state"

    channel: Mapped[Channel] = mapped_column(pg_enum(Channel, "notice_channel"), primary_key=True)
    paused_until: Mapped[datetime | None] = mapped_column()
    month: Mapped[str | None] = mapped_column(String(7))
    sent_this_month: Mapped[int] = mapped_column(BigInteger, server_default="0")
