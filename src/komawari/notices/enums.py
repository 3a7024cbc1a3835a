"""The kinds of notice, the channels, and the states of a message."""

from __future__ import annotations

import enum


class NoticeKind(enum.StrEnum):
    """What a notice is about (a page's words for each are in `notices/words.py`)."""

    CANCEL = "cancel"
    MOVE = "move"
    SUBSTITUTE = "substitute"
    ROOM = "room"
    RESTORE = "restore"
    BREAK = "break"
    CLOSURE = "closure"
    NEW_SERIES = "new_series"
    ABSENT = "absent"
    CREDIT_ISSUED = "credit_issued"
    CREDIT_EXPIRING = "credit_expiring"
    CREDIT_USED = "credit_used"
    REMINDER = "reminder"


# The kinds about one lesson's state: the drain compares the lesson as it is now with the
# lesson before the first of a person's changes, and sends nothing when they are equal.
LESSON_CHANGES = frozenset(
    {
        NoticeKind.CANCEL,
        NoticeKind.MOVE,
        NoticeKind.SUBSTITUTE,
        NoticeKind.ROOM,
        NoticeKind.RESTORE,
        NoticeKind.BREAK,
        NoticeKind.CLOSURE,
    }
)


class Channel(enum.StrEnum):
    EMAIL = "email"
    LINE = "line"


class MessageStatus(enum.StrEnum):
    """A message's state: waiting to go, sent, given up (dead letter), or kept (no channel)."""

    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"
    HELD = "held"


class Relation(enum.StrEnum):
    """Who a contact is to a student."""

    SELF = "self"
    MOTHER = "mother"
    FATHER = "father"
    GUARDIAN = "guardian"
    GRANDPARENT = "grandparent"
    OTHER = "other"
