"""/api: a branch's month in numbers: attendance rates, and teacher hours (講師給の基礎)."""

from __future__ import annotations

from komawari.attendance import stats
from komawari.attendance.stats_schemas import BranchAttendanceRead, BranchHoursRead, Month
from komawari.auth.dependencies import ReadableBranch
from komawari.web.deps import Db
from komawari.web.routing import api_router

router = api_router("/branches", "attendance")


@router.get("/{branch_id}/reports/attendance", summary="Attendance rates per teacher and per group")
def attendance_report(branch: ReadableBranch, db: Db, month: Month = None) -> BranchAttendanceRead:
    """The marks of the month's live lessons at the branch (dates at the branch), per
    teacher who taught them and per group, by state; the rate is present + late + left
    early over every mark but school_cancelled. Lessons without any mark are counted
    apart: `not_taken` once ended, `to_come` before."""
    found = stats.attendance(db, branch.id, month=month or stats.this_month(branch.time_zone))
    return BranchAttendanceRead.of(branch.id, found)


@router.get("/{branch_id}/reports/hours", summary="Lessons and hours per teacher in a month")
def hours_report(branch: ReadableBranch, db: Db, month: Month = None) -> BranchHoursRead:
    """Per teacher who taught them: the month's live lessons (コマ) and hours, their own
    and as a substitute (代講) apart, and their lessons cancelled (休講) apart."""
    found = stats.hours(db, branch.id, month=month or stats.this_month(branch.time_zone))
    return BranchHoursRead.of(branch.id, found)
