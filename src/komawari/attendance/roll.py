"""What a roll shows, and a roll form read back as marks.

A roll is a lesson's students (its student, or its group's attendees) with their current
marks: on the teacher's day (`/me/today`), on the lesson page and on a branch's day. The
lessons are the read model's cards (`sessions/read_model.py`); whether the viewer may take
the roll is the policy's answer (`auth/policy.may_mark_roll`).

A form sends every student's state; only the marks it changes are marked, so sending the
same roll twice changes nothing and a notice keeps the time it was first recorded at.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from komawari.attendance.enums import AttendanceState
from komawari.attendance.models import AttendanceMark
from komawari.attendance.schemas import LessonMarks, MarkIn
from komawari.auth import policy
from komawari.auth.policy import Principal
from komawari.errors import InvalidInput
from komawari.people.models import Student
from komawari.scheduling import clock, timerules
from komawari.sessions import queries, read_model
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from komawari.words import say

# The states a teacher taps on the phone; the office's roll has every state.
TEACHER_STATES = (
    AttendanceState.PRESENT,
    AttendanceState.LATE,
    AttendanceState.LEFT_EARLY,
    AttendanceState.ABSENT_NOTIFIED,
    AttendanceState.ABSENT,
)
OFFICE_STATES = (*TEACHER_STATES, AttendanceState.SCHOOL_CANCELLED)
STATE_FIELD = re.compile(r"state-([0-9]{1,18})-([0-9]{1,18})")
HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


@dataclass(frozen=True)
class Pupil:
    """One student of a roll and their current mark (None: not marked yet)."""

    student_id: int
    name: str
    state: AttendanceState | None
    notified_at: datetime | None
    notified_hm: str  # the notice's time, HH:MM on the lesson's wall clock ("": none)


@dataclass(frozen=True)
class Roll:
    """A lesson, its students and their marks, and whether the viewer may take it."""

    lesson: read_model.LessonCard
    time_zone: str
    pupils: list[Pupil]
    may_mark: bool

    @property
    def id(self) -> int:
        """The lesson's id."""
        return self.lesson.id

    @property
    def live(self) -> bool:
        """Tell whether the lesson takes place (a cancelled one has no roll to take)."""
        return self.lesson.status != SessionStatus.CANCELLED

    @property
    def states(self) -> tuple[AttendanceState, ...]:
        """The states the office's roll offers (every one)."""
        return OFFICE_STATES

    @property
    def unmarked(self) -> int:
        """How many of its students have no mark yet."""
        return sum(1 for p in self.pupils if p.state is None)


def rolls(db: Session, rows: list[ClassSession], who: Principal) -> list[Roll]:
    """Return the rolls of `rows`, in their order, as `who` may see and take them."""
    ids = [r.id for r in rows]
    cards = read_model.lessons(db, ids, viewer=who)
    students = _students(db, rows)
    marks = _marks(db, ids)
    names = _names(db, {s for each in students.values() for s in each})
    found = []
    for row in rows:
        zone = ZoneInfo(row.time_zone)
        pupils = []
        for student in students.get(row.id, []):
            mark = marks.get((row.id, student))
            at = mark.notified_at if mark else None
            pupils.append(
                Pupil(
                    student,
                    names.get(student, ""),
                    mark.state if mark else None,
                    at,
                    at.astimezone(zone).strftime("%H:%M") if at else "",
                )
            )
        pupils.sort(key=lambda p: (p.name, p.student_id))
        may = policy.may_mark_roll(
            who,
            branch_id=row.branch_id,
            teacher_id=row.teacher_id,
            lesson_day=row.date,
            today=clock.branch_today(row.time_zone),
        )
        found.append(Roll(cards[row.id], row.time_zone, pupils, may))
    return found


def roll_of(db: Session, who: Principal, row: ClassSession) -> Roll:
    """Return one lesson's roll (the lesson page's)."""
    return rolls(db, [row], who)[0]


def teacher_today(db: Session, who: Principal) -> list[Roll]:
    """Return the rolls of the caller's lessons today, each today in its branch's zone,
    in time order (a cancelled lesson is listed, without a roll to take)."""
    if who.teacher_id is None:
        return []
    school = clock.school_today()
    near = db.scalars(
        select(ClassSession)
        .where(
            ClassSession.teacher_id == who.teacher_id,
            # Every zone's today is within two days of the school's.
            ClassSession.date.between(school - timedelta(days=2), school + timedelta(days=2)),
        )
        .order_by(ClassSession.starts_at, ClassSession.id)
    )
    today = [r for r in near if r.date == clock.branch_today(r.time_zone)]
    return rolls(db, today, who)


def branch_day(db: Session, who: Principal, branch_id: int, day: date) -> list[Roll]:
    """Return the rolls of a branch's live lessons of a day, in time order."""
    rows = queries.search(db, branch_ids=[branch_id], date_from=day, date_to=day, limit=10_000)
    return rolls(db, [r for r in rows if r.status != SessionStatus.CANCELLED], who)


def _students(db: Session, rows: list[ClassSession]) -> dict[int, list[int]]:
    out = {r.id: [r.student_id] for r in rows if r.student_id is not None}
    group = queries.attendees(db, [r.id for r in rows if r.student_id is None])
    return out | dict(group)


def _marks(db: Session, ids: list[int]) -> dict[tuple[int, int], AttendanceMark]:
    if not ids:
        return {}
    found = db.scalars(select(AttendanceMark).where(AttendanceMark.session_id.in_(ids)))
    return {(m.session_id, m.student_id): m for m in found}


def _names(db: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    found = db.execute(select(Student.id, Student.name).where(Student.id.in_(ids)))
    return dict(found.all())


# A form read back as marks.


def tapped(db: Session, row: ClassSession, student_id: str, state: str) -> list[MarkIn]:
    """Return the one mark a teacher tapped ([] when the student has it already)."""
    wanted = MarkIn.model_validate({"student_id": student_id, "state": state})
    now = _marks(db, [row.id]).get((row.id, wanted.student_id))
    return [] if now is not None and now.state == wanted.state else [wanted]


def lesson_marks(db: Session, fields: Mapping[str, str], row: ClassSession) -> list[MarkIn]:
    """Return the marks a lesson's roll form changes (a field of another lesson: refused)."""
    wanted = form_marks(db, fields)
    other = next((w.session_id for w in wanted if w.session_id != row.id), None)
    if other is not None:
        raise InvalidInput(
            "form",
            say("attendance.other-lesson", "this form names lesson %(id)s, not this one", id=other),
        )
    return [m for w in wanted for m in w.marks]


def form_marks(db: Session, fields: Mapping[str, str]) -> list[LessonMarks]:
    """Return the marks a roll form changes, per lesson named (`state-LESSON-STUDENT`, and
    for an absence with notice an optional `notified-LESSON-STUDENT`, HH:MM).

    A notice's time is on the lesson's wall clock, on the lesson's day, or today if that
    is earlier (a notice recorded ahead of the lesson). No time: now, or the time already
    recorded. A lesson named that is not the page's is kept: the service refuses it.
    """
    named: dict[int, dict[int, str]] = {}
    for key, value in fields.items():
        found = STATE_FIELD.fullmatch(key)
        if found:
            named.setdefault(int(found[1]), {})[int(found[2])] = value
    rows = {r.id: r for r in db.scalars(select(ClassSession).where(ClassSession.id.in_(named)))}
    current = _marks(db, list(rows))
    out = []
    for lesson_id, states in sorted(named.items()):
        row = rows.get(lesson_id)
        marks = []
        for student_id, raw in sorted(states.items()):
            name = f"{lesson_id}-{student_id}"
            hhmm = fields.get(f"notified-{name}", "").strip()
            mark = current.get((lesson_id, student_id))
            wanted = _wanted(name, raw, hhmm, row, mark)
            if wanted is not None:
                marks.append(wanted)
        if marks:
            out.append(LessonMarks(session_id=lesson_id, marks=marks))
    return out


def _wanted(
    name: str, raw: str, hhmm: str, row: ClassSession | None, mark: AttendanceMark | None
) -> MarkIn | None:
    """The mark a form's fields for one student want (None: the mark they have)."""
    student_id = int(name.split("-")[1])
    try:
        state = AttendanceState(raw)
    except ValueError:
        raise InvalidInput(
            f"state-{name}", say("value.not-a-choice", "pick one of the choices")
        ) from None
    had = mark.state if mark else None
    if state != AttendanceState.ABSENT_NOTIFIED:
        return None if had == state else MarkIn(student_id=student_id, state=state)
    if hhmm and not HHMM.fullmatch(hhmm):
        raise InvalidInput(
            f"notified-{name}", say("value.not-a-time", "enter a time as HH:MM (24-hour)")
        )
    if had == state and mark is not None and mark.notified_at is not None and row is not None:
        kept = mark.notified_at.astimezone(ZoneInfo(row.time_zone)).strftime("%H:%M")
        if not hhmm or hhmm == kept:
            return None
    if not hhmm or row is None:
        return MarkIn(student_id=student_id, state=state)
    day = min(row.date, clock.branch_today(row.time_zone))
    at = timerules.local_instant(day, time.fromisoformat(hhmm), row.time_zone)
    return MarkIn(student_id=student_id, state=state, notified_at=at)
