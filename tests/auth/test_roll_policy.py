"""Who may take a lesson's roll, as plain functions: staff of its branch any time; its
teacher on the lesson's day and the day after, never another teacher's lesson."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from komawari.auth import policy
from komawari.auth.enums import Role
from komawari.auth.policy import Principal
from komawari.errors import Forbidden
from komawari.words import say
from tests.auth.test_policy import (
    ADMIN,
    OTHER_TEACHER,
    OWN_TEACHER,
    STAFF_A,
    TEACHER,
    WHO,
    A,
    B,
    outcome,
)

DAY = date(2027, 3, 11)  # a Thursday; the window's edges are counted from it
MISSING = say("lesson.not-found", "there is no lesson number %(id)s", id=5)


def _may(who: Principal, *, branch: int = A, teacher: int = OWN_TEACHER, today: date) -> bool:
    return policy.may_mark_roll(
        who, branch_id=branch, teacher_id=teacher, lesson_day=DAY, today=today
    )


@pytest.mark.parametrize(
    ("days_after", "expected"),
    [(-1, False), (0, True), (1, True), (2, False), (30, False)],
)
def test_a_teacher_marks_their_own_lesson_on_its_day_and_the_next_only(
    days_after: int, expected: bool
) -> None:
    assert _may(TEACHER, today=DAY + timedelta(days=days_after)) is expected


def test_a_teacher_never_marks_another_teachers_lesson() -> None:
    for days_after in (0, 1):
        assert not _may(TEACHER, teacher=OTHER_TEACHER, today=DAY + timedelta(days=days_after))


def test_a_teacher_without_a_teacher_marks_nothing() -> None:
    """A teacher user names its teacher (a check in the database); None is no one."""
    nobody = Principal(9, "ghost", Role.TEACHER, 9, frozenset({A}))
    assert not policy.may_mark_roll(nobody, branch_id=A, teacher_id=0, lesson_day=DAY, today=DAY)


@pytest.mark.parametrize("days_after", [-7, 0, 1, 2, 400])
def test_staff_of_the_branch_and_admins_mark_any_time(days_after: int) -> None:
    today = DAY + timedelta(days=days_after)
    assert _may(STAFF_A, today=today)
    assert _may(ADMIN, branch=B, teacher=OTHER_TEACHER, today=today)


def test_staff_of_another_branch_may_not_mark() -> None:
    assert not _may(STAFF_A, branch=B, today=DAY)


def test_the_teachers_branches_do_not_make_them_staff() -> None:
    """TEACHER is granted branch A: still only their own lessons, inside the window."""
    assert not _may(TEACHER, teacher=OTHER_TEACHER, branch=A, today=DAY)
    assert not _may(TEACHER, branch=A, today=DAY + timedelta(days=2))


ROLL_ANSWERS = [
    # (role, branch, teacher, days after the lesson, answer)
    ("teacher", A, OWN_TEACHER, 0, "ok"),
    ("teacher", A, OWN_TEACHER, 1, "ok"),
    ("teacher", A, OWN_TEACHER, 2, "403"),  # may read it, may no longer mark it
    ("teacher", A, OWN_TEACHER, -1, "403"),  # not before its day either
    ("teacher", A, OTHER_TEACHER, 0, "404"),  # another teacher's lesson: not even seen
    ("staff", A, OTHER_TEACHER, 2, "ok"),
    ("staff", B, OWN_TEACHER, 0, "404"),
    ("admin", B, OWN_TEACHER, 9, "ok"),
]


@pytest.mark.parametrize(("role", "branch", "teacher", "days_after", "expected"), ROLL_ANSWERS)
def test_require_roll_answers_404_403_or_ok(
    role: str, branch: int, teacher: int, days_after: int, expected: str
) -> None:
    today = DAY + timedelta(days=days_after)

    def check() -> None:
        policy.require_roll(
            WHO[role],
            branch_id=branch,
            teacher_id=teacher,
            lesson_day=DAY,
            today=today,
            missing=MISSING,
        )

    assert outcome(check) == expected


def test_a_teacher_refused_after_the_window_is_told_why() -> None:
    with pytest.raises(Forbidden) as refused:
        policy.require_roll(
            TEACHER,
            branch_id=A,
            teacher_id=OWN_TEACHER,
            lesson_day=DAY,
            today=DAY + timedelta(days=2),
            missing=MISSING,
        )
    assert refused.value.code == "attendance.teacher-window"
    assert refused.value.detail == (
        "a teacher takes the roll of their own lesson on its day or the day after;"
        " the office corrects it later"
    )
