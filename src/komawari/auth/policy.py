"""Who may read or change what: the one authority on access.

Pure functions over the caller (role, branches, teacher) and the owner of an object (its
branch, its teacher), so every rule is tested without HTTP or a database. An object the
caller may not read is answered as missing (404), so its existence does not leak; one the
caller may read but not change is 403. A role that may not use a kind of object at all is
403 before any lookup, which leaks nothing either.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from komawari.audit.service import Actor
from komawari.auth.enums import Role
from komawari.errors import Forbidden, NotFound
from komawari.words import Say, say


class Access(enum.IntEnum):
    """What a caller may do with one object."""

    NONE = 0  # may not know it exists: 404
    READ = 1  # may read it; a change is 403
    WRITE = 2


@dataclass(frozen=True)
class Principal:
    """The caller of a request: a user, their role and branches, and how they came in
    (an API token, or a web session of the pages)."""

    user_id: int
    username: str
    role: Role
    token_id: int | None
    branch_ids: frozenset[int]
    teacher_id: int | None = None
    web_session_id: int | None = None

    @property
    def is_admin(self) -> bool:
        """Tell whether the caller may do everything."""
        return self.role == Role.ADMIN

    @property
    def actor(self) -> Actor:
        """Return the audit actor of this caller (user, and token or web session)."""
        if self.web_session_id is not None:
            return Actor(
                "user",
                f"user:{self.username} web-session:{self.web_session_id}",
                extra={"user_id": self.user_id, "web_session_id": self.web_session_id},
            )
        return Actor(
            "token",
            f"user:{self.username} token:{self.token_id}",
            extra={"user_id": self.user_id, "token_id": self.token_id},
        )

    @property
    def scope(self) -> str:
        """Return the scope of this caller's idempotency keys."""
        return f"user:{self.user_id}"


# What each kind of object allows, from the object's owner.


def branch_access(who: Principal, branch_id: int | None) -> Access:
    """Return what the caller may do with data of a branch (None: every branch's data).

    Series, rooms, closures and generation runs belong to their branch and follow it.
    """
    if who.is_admin:
        return Access.WRITE
    if who.role == Role.STAFF and branch_id is not None and branch_id in who.branch_ids:
        return Access.WRITE
    return Access.NONE


def session_access(who: Principal, *, branch_id: int, teacher_id: int) -> Access:
    """Return what the caller may do with a session: teachers read their own lessons."""
    if who.role == Role.TEACHER:
        return Access.READ if teacher_id == who.teacher_id else Access.NONE
    return branch_access(who, branch_id)


def may_read_session(who: Principal, *, branch_id: int, teacher_id: int) -> bool:
    """Tell whether the caller may read a session; a clash with one they may not is
    shown by its times and what it shares only (no names, no ids)."""
    return session_access(who, branch_id=branch_id, teacher_id=teacher_id) >= Access.READ


ROLL_DAYS = timedelta(days=1)  # a teacher's roll stays open until the end of the next day


def may_mark_roll(
    who: Principal, *, branch_id: int, teacher_id: int, lesson_day: date, today: date
) -> bool:
    """Tell whether the caller may take (or correct) a lesson's roll: staff who may write
    at its branch, any time; its teacher from the lesson's day to the end of the next
    (`today`: the date in the lesson's branch's zone)."""
    if who.role == Role.TEACHER:
        return teacher_id == who.teacher_id and lesson_day <= today <= lesson_day + ROLL_DAYS
    return branch_access(who, branch_id) == Access.WRITE


def teacher_access(who: Principal, teacher_id: int) -> Access:
    """Return what the caller may do with a teacher (school-wide; a teacher: only itself)."""
    if who.role == Role.TEACHER:
        return Access.READ if teacher_id == who.teacher_id else Access.NONE
    return Access.WRITE


def student_access(who: Principal) -> Access:
    """Return what the caller may do with a student (school-wide, staff and admins)."""
    return Access.NONE if who.role == Role.TEACHER else Access.WRITE


def family_access(who: Principal, student_branch_ids: frozenset[int]) -> Access:
    """Return what the caller may do with a student's contacts (their family's addresses):
    staff of a branch where the student has lessons or series; any staff while the student
    has none anywhere yet (a family is added before the first lesson). Teachers: none."""
    if who.role == Role.TEACHER:
        return Access.NONE
    if who.is_admin or not student_branch_ids or student_branch_ids & who.branch_ids:
        return Access.WRITE
    return Access.NONE


def contact_access(
    who: Principal, *, student_branch_ids: Iterable[frozenset[int]], teacher_id: int | None
) -> Access:
    """Return what the caller may do with a contact: the most that any of its students'
    families (`family_access`) or its teacher (`teacher_access`) allows. A contact of no
    student and no teacher (unlinked from the last one) is like a student without
    lessons: any staff's."""
    found = [family_access(who, ids) for ids in student_branch_ids]
    if teacher_id is not None:
        found.append(teacher_access(who, teacher_id))
    return max(found) if found else family_access(who, frozenset())


def line_signature_matches(secret: str, body: bytes, signature: str | None) -> bool:
    """Tell whether a webhook body is LINE's: its X-Line-Signature is the base64 of the
    body's HMAC-SHA256 under the channel secret (compared in constant time)."""
    if not secret or signature is None:
        return False
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), signature.encode())


def user_access(who: Principal, user_id: int) -> Access:
    """Return what the caller may do with a user: admins all, everyone else themselves."""
    if who.is_admin:
        return Access.WRITE
    return Access.READ if user_id == who.user_id else Access.NONE


def may_rotate_feed(who: Principal, *, owner_type: str, owner_id: int) -> bool:
    """Tell whether the caller may rotate a calendar feed key (admin; a teacher, their own)."""
    if who.is_admin:
        return True
    return who.role == Role.TEACHER and owner_type == "teacher" and owner_id == who.teacher_id


def feed_key_matches(stored_hash: str | None, key_hash: str | None) -> bool:
    """Tell whether a feed key (hashed) is the feed's current key, in constant time."""
    return (
        stored_hash is not None
        and key_hash is not None
        and hmac.compare_digest(stored_hash, key_hash)
    )


# Turning a verdict into the answer.


def require(
    who: Principal, access: Access, need: Access, missing: Say, read_only: Say | None = None
) -> None:
    """Raise NotFound (saying `missing`) when the caller may not see the object, Forbidden
    (saying `read_only`) when they may read it but not change it."""
    if access == Access.NONE:
        raise NotFound(missing)
    if access < need:
        raise Forbidden(
            _teachers_own()
            if who.role == Role.TEACHER
            else read_only or say("access.read-only", "you may read this but not change it")
        )


def branch_missing(branch_id: int) -> Say:
    """The answer for a branch that does not exist, or that the caller may not see."""
    return say("branch.not-found", "branch %(id)s does not exist", id=branch_id)


def _teachers_own() -> Say:
    return say(
        "access.teacher-own-lessons",
        "a teacher's token may read the teacher's own sessions only",
    )


def require_roll(
    who: Principal,
    *,
    branch_id: int,
    teacher_id: int,
    lesson_day: date,
    today: date,
    missing: Say,
) -> None:
    """Raise NotFound (saying `missing`) when the caller may not read the lesson,
    Forbidden when they may read it but not take its roll (a teacher after the window)."""
    access = session_access(who, branch_id=branch_id, teacher_id=teacher_id)
    if access == Access.NONE:
        raise NotFound(missing)
    if not may_mark_roll(
        who, branch_id=branch_id, teacher_id=teacher_id, lesson_day=lesson_day, today=today
    ):
        raise Forbidden(
            say(
                "attendance.teacher-window",
                "a teacher takes the roll of their own lesson on its day or the day after;"
                " the office corrects it later",
            )
            if who.role == Role.TEACHER
            else say("lesson.read-only", "you may read this lesson but not change it")
        )


def require_staff(who: Principal) -> None:
    """Raise Forbidden for teachers, who may read their own sessions only."""
    if who.role == Role.TEACHER:
        raise Forbidden(_teachers_own())


def require_admin(who: Principal) -> None:
    """Raise Forbidden unless the caller is an admin."""
    if not who.is_admin:
        raise Forbidden(say("access.admin-only", "only an admin may do this"))


def require_write_in(who: Principal, branch_id: int | None) -> None:
    """Raise Forbidden unless the caller may create data in `branch_id` (None: everywhere).

    A branch named in a request body is 403 whether it exists or not, so nothing leaks.
    """
    require_staff(who)
    if branch_access(who, branch_id) < Access.WRITE:
        raise Forbidden(
            say(
                "access.not-your-branch",
                "branch %(id)s is not one of your branches; ask an admin to grant it",
                id=branch_id,
            )
            if branch_id is not None
            else say("access.school-wide", "only an admin may change school-wide data")
        )


def require_feed_rotation(who: Principal, *, owner_type: str, owner_id: int) -> None:
    """Raise Forbidden unless the caller may rotate this feed's key."""
    if not may_rotate_feed(who, owner_type=owner_type, owner_id=owner_id):
        raise Forbidden(
            say(
                "access.feed-rotation",
                "only an admin (or the teacher, for their own feed) may rotate a feed",
            )
        )


# What a list may show.


def visible_branches(who: Principal, requested: int | None = None) -> list[int] | None:
    """Return the branches a list may show (None: all), 404 for a branch the caller can't see."""
    require_staff(who)
    if requested is not None:
        require(who, branch_access(who, requested), Access.READ, branch_missing(requested))
        return [requested]
    return None if who.is_admin else sorted(who.branch_ids)


@dataclass(frozen=True)
class SessionFilter:
    """The sessions a list may show: of these branches (None: all) and this teacher."""

    branch_ids: list[int] | None
    teacher_id: int | None


def session_filter(
    who: Principal, *, branch_id: int | None, teacher_id: int | None
) -> SessionFilter:
    """Return which sessions a list may show; a teacher sees their own lessons only."""
    if who.role != Role.TEACHER:
        return SessionFilter(visible_branches(who, branch_id), teacher_id)
    if branch_id is not None:
        raise NotFound(branch_missing(branch_id))
    if who.teacher_id is None:  # ck_users_teacher_has_teacher makes this unreachable
        raise Forbidden(say("access.no-teacher", "this teacher's token names no teacher"))
    if teacher_id is not None and teacher_id != who.teacher_id:
        raise NotFound(
            say(
                "access.teacher-not-yours",
                "teacher %(id)s has no sessions you may see",
                id=teacher_id,
            )
        )
    return SessionFilter(None, who.teacher_id)
