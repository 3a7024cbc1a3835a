"""The policy's refusals: which exception, and a message that says what to do."""

from __future__ import annotations

import pytest

from komawari.auth import policy
from komawari.auth.enums import Role
from komawari.auth.policy import Access, Principal
from komawari.errors import Forbidden, NotFound
from komawari.words import say
from tests.auth.test_policy import ADMIN, OTHER_TEACHER, OWN_TEACHER, STAFF_A, TEACHER, A, B


def test_students_are_school_wide_for_staff_and_admins_and_hidden_from_teachers() -> None:
    assert policy.student_access(ADMIN) == Access.WRITE
    assert policy.student_access(STAFF_A) == Access.WRITE
    assert policy.student_access(TEACHER) == Access.NONE


def test_only_an_admin_passes_require_admin() -> None:
    policy.require_admin(ADMIN)
    for who in (STAFF_A, TEACHER):
        with pytest.raises(Forbidden, match=r"^only an admin may do this$"):
            policy.require_admin(who)


def test_require_staff_refuses_teachers_only() -> None:
    policy.require_staff(ADMIN)
    policy.require_staff(STAFF_A)
    with pytest.raises(Forbidden, match=r"^a teacher's token may read the teacher's own sessions"):
        policy.require_staff(TEACHER)


def test_a_read_only_object_is_403_and_says_so() -> None:
    missing = say("series.not-found", "there is no series number %(id)s", id=4)
    read_only = say("series.read-only", "you may read this series but not change it")
    with pytest.raises(Forbidden, match=r"^you may read this series but not change it$") as no:
        policy.require(STAFF_A, Access.READ, Access.WRITE, missing, read_only)
    assert no.value.code == "series.read-only"
    with pytest.raises(NotFound, match=r"^there is no series number 4$") as hidden:
        policy.require(STAFF_A, Access.NONE, Access.READ, missing, read_only)
    assert hidden.value.code == "series.not-found"


def test_writing_outside_one_s_branches_names_the_branch_or_the_school() -> None:
    policy.require_write_in(STAFF_A, A)
    policy.require_write_in(ADMIN, None)
    with pytest.raises(Forbidden, match=rf"^branch {B} is not one of your branches; ask an admin"):
        policy.require_write_in(STAFF_A, B)
    with pytest.raises(Forbidden, match=r"^only an admin may change school-wide data$"):
        policy.require_write_in(STAFF_A, None)


def test_feed_rotation_refusal_says_who_may() -> None:
    policy.require_feed_rotation(TEACHER, owner_type="teacher", owner_id=OWN_TEACHER)
    with pytest.raises(Forbidden, match=r"^only an admin \(or the teacher, for their own feed\)"):
        policy.require_feed_rotation(TEACHER, owner_type="teacher", owner_id=OTHER_TEACHER)


def test_lists_show_the_caller_s_branches_and_hide_others() -> None:
    assert policy.visible_branches(ADMIN) is None
    assert policy.visible_branches(STAFF_A) == [A]
    assert policy.visible_branches(STAFF_A, A) == [A]
    assert policy.visible_branches(ADMIN, B) == [B]
    with pytest.raises(NotFound, match=rf"^branch {B} does not exist$"):
        policy.visible_branches(STAFF_A, B)
    with pytest.raises(Forbidden, match=r"^a teacher's token"):
        policy.visible_branches(TEACHER)


def test_a_teacher_s_session_list_is_their_own_and_other_filters_are_404() -> None:
    mine = policy.session_filter(TEACHER, branch_id=None, teacher_id=None)
    assert (mine.branch_ids, mine.teacher_id) == (None, OWN_TEACHER)
    assert policy.session_filter(TEACHER, branch_id=None, teacher_id=OWN_TEACHER) == mine
    with pytest.raises(NotFound, match=rf"^branch {A} does not exist$"):
        policy.session_filter(TEACHER, branch_id=A, teacher_id=None)
    with pytest.raises(NotFound, match=rf"^teacher {OTHER_TEACHER} has no sessions you may see$"):
        policy.session_filter(TEACHER, branch_id=None, teacher_id=OTHER_TEACHER)
    staff = policy.session_filter(STAFF_A, branch_id=None, teacher_id=OTHER_TEACHER)
    assert (staff.branch_ids, staff.teacher_id) == ([A], OTHER_TEACHER)


def test_a_teacher_refused_a_change_is_told_what_a_teacher_may_do() -> None:
    with pytest.raises(Forbidden, match=r"^a teacher's token may read the teacher's own sessions"):
        policy.require(
            TEACHER,
            Access.READ,
            Access.WRITE,
            say("lesson.not-found", "there is no lesson number %(id)s", id=4),
        )


def test_a_teacher_s_user_without_a_teacher_is_refused() -> None:
    nobody = Principal(9, "x", Role.TEACHER, 9, frozenset())
    with pytest.raises(Forbidden, match=r"^this teacher's token names no teacher$"):
        policy.session_filter(nobody, branch_id=None, teacher_id=None)
