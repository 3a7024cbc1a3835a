"""Import every domain's models so the metadata is complete (Alembic, tests)."""

from komawari.attendance.models import AttendanceMark, Credit, CreditEntry
from komawari.audit.models import AuditEvent
from komawari.auth.models import (
    ApiToken,
    CalendarFeed,
    IdempotencyKey,
    SignInFailure,
    User,
    UserBranch,
    WebSession,
)
from komawari.branches.models import Branch, BranchClosure, BranchPeriod, BranchVersion
from komawari.db.base import Base
from komawari.generation.models import GenerationRun
from komawari.notices.models import (
    ChannelState,
    Contact,
    ContactStudent,
    LineLinkCode,
    NoticeDelivery,
    NoticeIntent,
    NoticeMessage,
)
from komawari.people.models import Room, Student, Teacher
from komawari.series.models import ClassSeries, SeriesEnrolment, SeriesPauseRecord
from komawari.sessions.models import ClassSession, SessionAttendee

__all__ = [
    "ApiToken",
    "AttendanceMark",
    "AuditEvent",
    "Base",
    "Branch",
    "BranchClosure",
    "BranchPeriod",
    "BranchVersion",
    "CalendarFeed",
    "ChannelState",
    "ClassSeries",
    "ClassSession",
    "Contact",
    "ContactStudent",
    "Credit",
    "CreditEntry",
    "GenerationRun",
    "IdempotencyKey",
    "LineLinkCode",
    "NoticeDelivery",
    "NoticeIntent",
    "NoticeMessage",
    "Room",
    "SeriesEnrolment",
    "SeriesPauseRecord",
    "SessionAttendee",
    "SignInFailure",
    "Student",
    "Teacher",
    "User",
    "UserBranch",
    "WebSession",
]
