"""Who may see a family's contacts, and whether a webhook body is LINE's: pure decisions
of `auth/policy.py`, no HTTP, no database (CI's mutation run kills their mutants here)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from komawari.auth import policy
from komawari.auth.enums import Role
from komawari.auth.policy import Access, Principal

A, B, C = 1, 2, 3
ADMIN = Principal(1, "admin", Role.ADMIN, 1, frozenset())
STAFF_A = Principal(2, "staff-a", Role.STAFF, 2, frozenset({A}))
STAFF_AC = Principal(4, "staff-ac", Role.STAFF, 4, frozenset({A, C}))
TEACHER = Principal(3, "sato", Role.TEACHER, 3, frozenset({A}), teacher_id=10)


@pytest.mark.parametrize(
    ("who", "branches", "access"),
    [
        (ADMIN, frozenset({B}), Access.WRITE),
        (ADMIN, frozenset(), Access.WRITE),
        (STAFF_A, frozenset({A}), Access.WRITE),
        (STAFF_A, frozenset({A, B}), Access.WRITE),  # lessons at both: both branches' staff
        (STAFF_A, frozenset({B}), Access.NONE),  # another branch's family: 404
        (STAFF_AC, frozenset({B, C}), Access.WRITE),
        (STAFF_A, frozenset(), Access.WRITE),  # no lesson anywhere yet: any staff
        (TEACHER, frozenset({A}), Access.NONE),  # a teacher, even of the branch
        (TEACHER, frozenset(), Access.NONE),
    ],
)
def test_a_familys_contacts_are_their_branches_staffs(
    who: Principal, branches: frozenset[int], access: Access
) -> None:
    assert policy.family_access(who, branches) == access


def test_a_contact_is_as_visible_as_the_best_of_its_students_and_its_teacher() -> None:
    only_b = [frozenset({B})]
    assert policy.contact_access(STAFF_A, student_branch_ids=only_b, teacher_id=None) == (
        Access.NONE
    )
    # A sibling at A makes the shared guardian A's too.
    both = [frozenset({B}), frozenset({A})]
    assert policy.contact_access(STAFF_A, student_branch_ids=both, teacher_id=None) == (
        Access.WRITE
    )
    # A teacher's contact follows the teacher (school-wide for staff; the teacher reads).
    assert policy.contact_access(STAFF_A, student_branch_ids=[], teacher_id=11) == Access.WRITE
    assert policy.contact_access(TEACHER, student_branch_ids=[], teacher_id=10) == Access.READ
    assert policy.contact_access(TEACHER, student_branch_ids=[], teacher_id=11) == Access.NONE
    assert policy.contact_access(TEACHER, student_branch_ids=only_b, teacher_id=10) == (Access.READ)
    # Unlinked from every student, no teacher: like a student without lessons.
    assert policy.contact_access(STAFF_A, student_branch_ids=[], teacher_id=None) == Access.WRITE
    assert policy.contact_access(TEACHER, student_branch_ids=[], teacher_id=None) == Access.NONE


def _sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_a_webhook_body_is_lines_only_with_its_signature() -> None:
    body = b'{"events":[]}'
    signature = _sign("s3cret", body)
    assert policy.line_signature_matches("s3cret", body, signature)
    assert not policy.line_signature_matches("s3cret", body + b" ", signature)  # another body
    assert not policy.line_signature_matches("other", body, signature)  # another secret
    assert not policy.line_signature_matches("s3cret", body, None)  # no signature
    assert not policy.line_signature_matches("s3cret", body, "")
    assert not policy.line_signature_matches("", body, _sign("", body))  # no secret set
    assert not policy.line_signature_matches("s3cret", body, signature.rstrip("="))
    # The hex digest is not LINE's form (base64 of the raw digest).
    hexed = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert not policy.line_signature_matches("s3cret", body, hexed)
