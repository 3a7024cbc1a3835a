"""The access policy as plain functions: every role against own and other data, no HTTP."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from komawari.auth import policy
from komawari.auth.enums import Role
from komawari.auth.policy import Access, Principal
from komawari.errors import Forbidden, NotFound
from komawari.words import say

A, B = 1, 2  # the caller's branch and another one
OWN_TEACHER, OTHER_TEACHER = 10, 11

ADMIN = Principal(1, "admin", Role.ADMIN, 1, frozenset())
STAFF_A = Principal(2, "staff-a", Role.STAFF, 2, frozenset({A}))
# A teacher granted branch A still sees only their own lessons: the role decides first.
TEACHER = Principal(3, "sato", Role.TEACHER, 3, frozenset({A}), teacher_id=OWN_TEACHER)
WHO = {"admin": ADMIN, "staff": STAFF_A, "teacher": TEACHER}

# What `require` says of a missing object, and of one the caller may only read.
SERIES_7 = say("series.not-found", "there is no series number %(id)s", id=7)
SERIES_READ_ONLY = say("series.read-only", "you may read this series but not change it")
SESSION_5 = say("lesson.not-found", "there is no lesson number %(id)s", id=5)


def outcome(check: Callable[[], object]) -> str:
    """Return 'ok', '403' or '404': what the HTTP answer of a check would be."""
    try:
        check()
    except NotFound:
        return "404"
    except Forbidden:
        return "403"
    return "ok"


def _need(op: str) -> Access:
    return Access.READ if op == "read" else Access.WRITE


# Series, rooms, closures and generation runs follow their branch.
BRANCH_DATA = [
    ("admin", A, "read", "ok"),
    ("admin", A, "write", "ok"),
    ("admin", B, "read", "ok"),
    ("admin", B, "write", "ok"),
    ("staff", A, "read", "ok"),
    ("staff", A, "write", "ok"),
    ("staff", B, "read", "404"),
    ("staff", B, "write", "404"),
    ("teacher", A, "read", "404"),
    ("teacher", A, "write", "404"),
    ("teacher", B, "read", "404"),
    ("teacher", B, "write", "404"),
]


@pytest.mark.parametrize(("role", "branch", "op", "expected"), BRANCH_DATA)
def test_branch_data_by_role_branch_and_operation(
    role: str, branch: int, op: str, expected: str
) -> None:
    who = WHO[role]
    access = policy.branch_access(who, branch)
    assert outcome(lambda: policy.require(who, access, _need(op), SERIES_7)) == expected


def test_data_of_every_branch_is_the_admins_alone() -> None:
    assert policy.branch_access(ADMIN, None) == Access.WRITE
    assert policy.branch_access(STAFF_A, None) == Access.NONE
    assert policy.branch_access(TEACHER, None) == Access.NONE


def test_staff_of_two_branches_write_in_both() -> None:
    both = Principal(4, "hana", Role.STAFF, 4, frozenset({A, B}))
    assert policy.branch_access(both, A) == policy.branch_access(both, B) == Access.WRITE
    assert policy.branch_access(both, 3) == Access.NONE


SESSIONS = [
    ("admin", B, OTHER_TEACHER, "read", "ok"),
    ("admin", B, OTHER_TEACHER, "write", "ok"),
    ("staff", A, OTHER_TEACHER, "read", "ok"),
    ("staff", A, OTHER_TEACHER, "write", "ok"),
    ("staff", B, OTHER_TEACHER, "read", "404"),
    ("staff", B, OTHER_TEACHER, "write", "404"),
    ("teacher", B, OWN_TEACHER, "read", "ok"),  # their lesson, at any branch
    ("teacher", B, OWN_TEACHER, "write", "403"),
    ("teacher", A, OTHER_TEACHER, "read", "404"),  # a colleague's lesson at their branch
    ("teacher", A, OTHER_TEACHER, "write", "404"),
]


@pytest.mark.parametrize(("role", "branch", "teacher", "op", "expected"), SESSIONS)
def test_sessions_by_role_branch_teacher_and_operation(
    role: str, branch: int, teacher: int, op: str, expected: str
) -> None:
    who = WHO[role]
    access = policy.session_access(who, branch_id=branch, teacher_id=teacher)
    assert outcome(lambda: policy.require(who, access, _need(op), SESSION_5)) == expected


def test_a_teacher_is_told_why_a_write_to_their_own_lesson_is_refused() -> None:
    access = policy.session_access(TEACHER, branch_id=A, teacher_id=OWN_TEACHER)
    with pytest.raises(Forbidden, match="teacher's own sessions only"):
        policy.require(TEACHER, access, Access.WRITE, SESSION_5)


def test_what_is_hidden_reads_as_missing() -> None:
    with pytest.raises(NotFound, match=r"^there is no lesson number 5$") as info:
        policy.require(STAFF_A, Access.NONE, Access.WRITE, SESSION_5)
    assert info.value.code == "lesson.not-found"


def test_readable_but_not_writable_is_403_for_staff_too() -> None:
    with pytest.raises(Forbidden, match="may read this series but not change it"):
        policy.require(STAFF_A, Access.READ, Access.WRITE, SERIES_7, SERIES_READ_ONLY)
    with pytest.raises(Forbidden, match=r"^you may read this but not change it$"):
        policy.require(STAFF_A, Access.READ, Access.WRITE, SERIES_7)
    policy.require(STAFF_A, Access.READ, Access.READ, SERIES_7, SERIES_READ_ONLY)


@pytest.mark.parametrize(
    ("role", "teacher", "expected"),
    [
        ("admin", OTHER_TEACHER, Access.WRITE),
        ("staff", OTHER_TEACHER, Access.WRITE),  # teachers are school-wide
        ("teacher", OWN_TEACHER, Access.READ),
        ("teacher", OTHER_TEACHER, Access.NONE),
    ],
)
def test_teachers_are_school_wide_and_a_teacher_sees_only_itself(
    role: str, teacher: int, expected: Access
) -> None:
    assert policy.teacher_access(WHO[role], teacher) == expected


def test_users_admins_all_everyone_else_themselves() -> None:
    assert policy.user_access(ADMIN, STAFF_A.user_id) == Access.WRITE
    assert policy.user_access(STAFF_A, STAFF_A.user_id) == Access.READ
    assert policy.user_access(STAFF_A, ADMIN.user_id) == Access.NONE
    assert policy.user_access(TEACHER, TEACHER.user_id) == Access.READ


@pytest.mark.parametrize(
    ("role", "branch", "expected"),
    [
        ("admin", B, "ok"),
        ("admin", None, "ok"),
        ("staff", A, "ok"),
        ("staff", B, "403"),  # a body naming a branch: 403 whether it exists or not
        ("staff", None, "403"),
        ("teacher", A, "403"),
    ],
)
def test_creating_in_a_branch(role: str, branch: int | None, expected: str) -> None:
    assert outcome(lambda: policy.require_write_in(WHO[role], branch)) == expected


@pytest.mark.parametrize(
    ("role", "owner_type", "owner_id", "allowed"),
    [
        ("admin", "student", 5, True),
        ("admin", "teacher", OTHER_TEACHER, True),
        ("teacher", "teacher", OWN_TEACHER, True),
        ("teacher", "teacher", OTHER_TEACHER, False),
        ("teacher", "student", OWN_TEACHER, False),  # a student's id equal to theirs
        ("staff", "teacher", OWN_TEACHER, False),
    ],
)
def test_who_may_rotate_a_calendar_feed(
    role: str, owner_type: str, owner_id: int, allowed: bool
) -> None:
    who = WHO[role]
    assert policy.may_rotate_feed(who, owner_type=owner_type, owner_id=owner_id) is allowed
    rotate = outcome(
        lambda: policy.require_feed_rotation(who, owner_type=owner_type, owner_id=owner_id)
    )
    assert rotate == ("ok" if allowed else "403")


def test_a_feed_key_matches_only_the_current_key() -> None:
    assert policy.feed_key_matches("abc", "abc")
    assert not policy.feed_key_matches("abc", "abd")
    assert not policy.feed_key_matches(None, "abc")  # no feed yet
    assert not policy.feed_key_matches("abc", None)  # no key given


def test_lists_show_the_callers_branches() -> None:
    assert policy.visible_branches(ADMIN) is None
    assert policy.visible_branches(ADMIN, B) == [B]
    assert policy.visible_branches(STAFF_A) == [A]
    assert policy.visible_branches(STAFF_A, A) == [A]
    assert outcome(lambda: policy.visible_branches(STAFF_A, B)) == "404"
    assert outcome(lambda: policy.visible_branches(TEACHER)) == "403"


def test_a_teachers_session_list_is_their_own_lessons() -> None:
    mine = policy.session_filter(TEACHER, branch_id=None, teacher_id=None)
    assert mine == policy.SessionFilter(None, OWN_TEACHER)
    assert policy.session_filter(TEACHER, branch_id=None, teacher_id=OWN_TEACHER) == mine
    other = lambda: policy.session_filter(TEACHER, branch_id=None, teacher_id=OTHER_TEACHER)  # noqa: E731
    assert outcome(other) == "404"
    assert outcome(lambda: policy.session_filter(TEACHER, branch_id=A, teacher_id=None)) == "404"


def test_a_staff_session_list_keeps_its_teacher_filter() -> None:
    found = policy.session_filter(STAFF_A, branch_id=None, teacher_id=OTHER_TEACHER)
    assert found == policy.SessionFilter([A], OTHER_TEACHER)
    assert outcome(lambda: policy.session_filter(STAFF_A, branch_id=B, teacher_id=None)) == "404"
