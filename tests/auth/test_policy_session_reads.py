"""Who may read a session (a clash with one they may not read is shown without names)."""

from __future__ import annotations

import pytest

from komawari.auth import policy
from komawari.auth.enums import Role
from komawari.auth.policy import Principal

A, B = 1, 2  # the caller's branch and another one
OWN_TEACHER, OTHER_TEACHER = 10, 11

ADMIN = Principal(1, "admin", Role.ADMIN, 1, frozenset())
STAFF_A = Principal(2, "staff-a", Role.STAFF, 2, frozenset({A}))
TEACHER = Principal(3, "sato", Role.TEACHER, 3, frozenset({A}), teacher_id=OWN_TEACHER)


@pytest.mark.parametrize(
    ("who", "branch_id", "teacher_id", "may"),
    [
        (ADMIN, B, OTHER_TEACHER, True),
        (STAFF_A, A, OTHER_TEACHER, True),
        (STAFF_A, B, OWN_TEACHER, False),
        (TEACHER, A, OWN_TEACHER, True),
        (TEACHER, B, OWN_TEACHER, True),
        (TEACHER, A, OTHER_TEACHER, False),
    ],
)
def test_staff_read_their_branches_sessions_and_teachers_only_their_own(
    who: Principal, branch_id: int, teacher_id: int, may: bool
) -> None:
    assert policy.may_read_session(who, branch_id=branch_id, teacher_id=teacher_id) is may
