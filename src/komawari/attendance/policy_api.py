"""/api: a branch's make-up (振替) policies, each change a new version."""

from __future__ import annotations

from komawari.attendance import policies
from komawari.attendance.enums import AttendanceState
from komawari.attendance.policy_schemas import CreditPolicies, CreditPolicyIn, CreditPolicyRead
from komawari.auth.dependencies import ReadableBranch, WritableBranch
from komawari.series.enums import SeriesKind
from komawari.web.deps import Caller, Db
from komawari.web.routing import api_router

router = api_router("/branches", "attendance")


def wanted(body: CreditPolicyIn) -> policies.Policy:
    """The rules a policy body asks for (its version is given when it is written)."""
    return policies.Policy(
        version=0,
        earning_states=frozenset(AttendanceState(s) for s in body.earning_states),
        notice_by=body.notice_by,
        expiry_days=body.expiry_days,
        monthly_cap=body.monthly_cap,
        same_kind_and_length=body.same_kind_and_length,
        makeup_seats=body.makeup_seats,
    )


def read(branch_id: int, kind: SeriesKind, policy: policies.Policy) -> CreditPolicyRead:
    """A policy in force as the API shows it (the default has no author or time)."""
    return CreditPolicyRead(
        branch_id=branch_id,
        lesson_kind=kind.value,
        version=policy.version,
        earning_states=sorted(policy.earning_states),
        notice_by=policy.notice_by,
        expiry_days=policy.expiry_days,
        monthly_cap=policy.monthly_cap,
        same_kind_and_length=policy.same_kind_and_length,
        makeup_seats=policy.makeup_seats,
    )


@router.get("/{branch_id}/credit-policies", summary="A branch's make-up policies")
def list_credit_policies(branch: ReadableBranch, db: Db) -> CreditPolicies:
    """The policy in force for private and group lessons (version 0: the built-in
    default), and every version the branch has had, newest first."""
    current = [
        CreditPolicyRead.model_validate(row) if row else read(branch.id, kind, policy)
        for kind, (policy, row) in policies.current(db, branch.id).items()
    ]
    return CreditPolicies(
        branch_id=branch.id,
        current=current,
        versions=[CreditPolicyRead.model_validate(r) for r in policies.history(db, branch.id)],
    )


@router.post(
    "/{branch_id}/credit-policies", status_code=201, summary="Set a make-up policy (a new version)"
)
def set_credit_policy(
    branch: WritableBranch, body: CreditPolicyIn, db: Db, who: Caller
) -> CreditPolicyRead:
    """Write the next version of the branch's policy for one kind of lesson. It applies to
    absences from lessons that start after now; credits already issued keep theirs."""
    row = policies.set_policy(
        db, branch.id, SeriesKind(body.lesson_kind), wanted(body), actor=who.actor
    )
    return CreditPolicyRead.model_validate(row)
