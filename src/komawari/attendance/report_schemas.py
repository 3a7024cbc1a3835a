"""Outstanding make-up credits as the API and `komawari credits list --json` answer them."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from komawari.attendance.reports import Outstanding


class UsableCreditRead(BaseModel):
    """A credit a make-up lesson can still be booked with."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    student_id: int
    student_name: str
    absence_session_id: int
    absence_date: date
    expires_on: date
    days_left: int  # 0: its last day is today at its branch
    soon: bool  # its last day is at most 14 days away
    flagged: bool


class StudentCreditsRead(BaseModel):
    """A student's usable credits; the balance is the sum of the ledger's entries of the
    student's credits at the branch."""

    model_config = ConfigDict(from_attributes=True)

    student_id: int
    student_name: str
    balance: int
    credits: list[UsableCreditRead]


class FlaggedCreditRead(BaseModel):
    """A credit whose absence was corrected after it was used: staff decide."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    student_id: int
    student_name: str
    absence_session_id: int
    absence_date: date
    expires_on: date
    flagged_at: datetime
    flag_reason: str | None
    balance: int


class BranchCreditsRead(BaseModel):
    """A branch's outstanding credits on its today: per student, those expiring soon (at
    most 14 days left), and the flagged ones."""

    branch_id: int
    today: date
    expiring_within: int | None
    count: int
    students: list[StudentCreditsRead]
    expiring_soon: list[UsableCreditRead]
    flagged: list[FlaggedCreditRead]

    @classmethod
    def of(cls, branch_id: int, found: Outstanding) -> BranchCreditsRead:
        """The listing of `reports.outstanding` at one branch."""
        return cls(
            branch_id=branch_id,
            today=found.today,
            expiring_within=found.expiring_within_days,
            count=found.count,
            students=[StudentCreditsRead.model_validate(s) for s in found.students],
            expiring_soon=[UsableCreditRead.model_validate(c) for c in found.expiring],
            flagged=[FlaggedCreditRead.model_validate(f) for f in found.flagged],
        )
