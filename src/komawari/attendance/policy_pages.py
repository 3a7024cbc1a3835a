"""Pages: a branch's make-up (振替) policies, one form per kind of lesson; saving one
writes its next version."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from komawari.attendance import policies
from komawari.attendance.policy_api import wanted
from komawari.attendance.policy_schemas import CreditPolicyIn
from komawari.auth import policy
from komawari.auth.dependencies import Me, ReadableBranch, WritableBranch
from komawari.auth.policy import Principal
from komawari.branches.models import Branch
from komawari.series.enums import SeriesKind
from komawari.web import forms
from komawari.web.deps import Db
from komawari.web.pages import CsrfChecked, Page, UserPage
from komawari.web.routing import page_router

router = page_router()

OPTIONAL = ("notice_by", "expiry_days", "monthly_cap")  # empty: the rule's "none"


@router.get("/branches/{branch_id}/credit-policy")
def credit_policy_page(branch: ReadableBranch, page: UserPage, who: Me, db: Db) -> Response:
    """The policy in force for private and group lessons, each version kept below."""
    return _page(page, db, who, branch.id)


def _page(
    page: Page, db: Db, who: Principal, branch_id: int, *, status: int = 200,
    kind: str | None = None, fields: dict[str, Any] | None = None,
    errors: forms.Errors | None = None,
) -> Response:  # fmt: skip
    access = policy.branch_access(who, branch_id)
    return page.render(
        "credit_policy.html",
        status,
        branch_id=branch_id,
        branch=db.get_one(Branch, branch_id),
        current=policies.current(db, branch_id),
        history=policies.history(db, branch_id),
        may_write=access >= policy.Access.WRITE,
        failed_kind=kind,
        fields=fields or {},
        errors=errors or {},
        absences=[s.value for s in policies.ABSENCES],
        done=page.request.query_params.get("done") if status == 200 else None,
    )


@router.post("/branches/{branch_id}/credit-policy", dependencies=[CsrfChecked])
async def set_credit_policy(
    branch: WritableBranch, request: Request, page: UserPage, who: Me, db: Db
) -> Response:
    """Save one kind's form as the next version of its policy."""
    form = (await request.form()).multi_items()
    fields = forms.values((k, v) for k, v in form if k != "earning_states")
    body: dict[str, Any] = {
        "lesson_kind": fields.get("lesson_kind"),
        "earning_states": [v for k, v in form if k == "earning_states"],
        "same_kind_and_length": fields.get("same_kind_and_length") == "1",
        "makeup_seats": fields.get("makeup_seats", "0"),
    }
    body |= {name: fields.get(name) for name in OPTIONAL}
    try:
        given = CreditPolicyIn.model_validate(body)
        policies.set_policy(
            db, branch.id, SeriesKind(given.lesson_kind), wanted(given), actor=who.actor
        )
    except ValidationError as exc:
        forms.refused(db)
        kind = body["lesson_kind"] if body["lesson_kind"] in ("PRIVATE", "GROUP") else None
        return _page(page, db, who, branch.id, status=422, kind=kind,
                     fields=body, errors=forms.errors(exc))  # fmt: skip
    return RedirectResponse(f"/branches/{branch.id}/credit-policy?done=saved", status_code=303)
