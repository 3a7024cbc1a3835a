"""Verdicts as a difference from the rule, on fixtures aimed at the hard cases.

Hypothesis builds a small school in PostgreSQL (two zones, one with a DST change on one of
the three days; few teachers, students and rooms, so lessons meet), books one-off lessons
(private and group), creates series, cancels and moves some lessons next to where new ones
will be made, runs generation in one batch or one run per series, then cancels, moves and
books again. Every session's status and conflicts_with must then be what
komawari.scheduling.conflict_rule says in booking order.

KOMAWARI_DIFFERENTIAL_EXAMPLES sets the number of examples (30 by default; CI's profile
replays the same ones every run). The long run: KOMAWARI_DIFFERENTIAL_EXAMPLES=500.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from komawari.errors import KomawariError
from komawari.generation import service as generation
from komawari.generation.enums import RunTrigger
from komawari.sessions import service as sessions
from komawari.sessions.models import ClassSession
from komawari.sessions.schemas import SessionCreate, SessionMove
from tests import factories as f
from tests.factories import bookings as bk
from tests.sessions.verdicts import assert_verdicts_follow_the_rule

EXAMPLES = int(os.environ.get("KOMAWARI_DIFFERENTIAL_EXAMPLES", "30"))
# Monday; New York moves its clocks on Sunday 14 March 2027 at 02:00 (02:30 does not exist).
NOW = datetime(2027, 3, 8, 12, 0, tzinfo=UTC)
ZONES = ("Asia/Tokyo", "America/New_York")
DAYS = ("2027-03-13", "2027-03-14", "2027-03-15")
WEEKDAYS = ("sat", "sun", "mon")
# 18:00 in Tokyo is 04:00 (then 05:00) in New York: lessons meet across zones.
STARTS = (time(2, 30), time(4, 0), time(5, 0), time(17, 30), time(18, 0), time(18, 30))
MINUTES = (30, 60, 90)


@dataclass(frozen=True)
class Lesson:
    """Who and where: indexes into the school's pools."""

    branch: int
    teacher: int
    students: tuple[int, ...]  # one: private; several: a group
    group: bool
    room: bool
    start: time
    minutes: int


lessons = st.builds(
    Lesson,
    branch=st.integers(0, 1),
    teacher=st.integers(0, 1),
    students=st.lists(st.integers(0, 2), min_size=1, max_size=2, unique=True).map(tuple),
    group=st.booleans(),
    room=st.booleans(),
    start=st.sampled_from(STARTS),
    minutes=st.sampled_from(MINUTES),
)
one_offs = st.lists(st.tuples(lessons, st.sampled_from(DAYS)), max_size=5)
series_specs = st.lists(
    st.tuples(lessons, st.sets(st.sampled_from(WEEKDAYS), min_size=1)), min_size=1, max_size=3
)
# (which lesson, cancel it or move it to which start)
changes = st.lists(st.tuples(st.integers(0, 30), st.none() | st.sampled_from(STARTS)), max_size=4)


class School:
    """Two branches in two zones, two teachers, three students, a room per branch."""

    def __init__(self, db: Session) -> None:
        self.db = db
        self.branches = [f.branch(db, time_zone=z) for z in ZONES]
        self.rooms = [f.room(db, b).id for b in self.branches]
        self.teachers = [f.teacher(db).id for _ in range(2)]
        self.students = [f.student(db).id for _ in range(3)]

    def fields(self, lesson: Lesson) -> dict[str, object]:
        """Return the create fields of a lesson (private or group, with or without room)."""
        end = min(lesson.start.hour * 60 + lesson.start.minute + lesson.minutes, 23 * 60 + 59)
        out: dict[str, object] = {
            "branch_id": self.branches[lesson.branch].id,
            "teacher_id": self.teachers[lesson.teacher],
            "start_time": lesson.start.isoformat("minutes"),
            "end_time": f"{end // 60:02d}:{end % 60:02d}",
            "room_id": self.rooms[lesson.branch] if lesson.room else None,
        }
        people = [self.students[i] for i in lesson.students]
        if lesson.group:
            return out | {"kind": "GROUP", "title": "G", "student_ids": people}
        return out | {"student_id": people[0]}

    def attempt(self, action: object, *args: object, **kw: object) -> None:
        """Do one service call; a refusal (a duplicate, a bad move) leaves nothing behind."""
        savepoint = self.db.begin_nested()
        try:
            action(*args, **kw)  # type: ignore[operator]
        except KomawariError:
            savepoint.rollback()
        else:
            savepoint.commit()

    def book(self, lesson: Lesson, day: str) -> None:
        """Book a one-off lesson."""
        data = SessionCreate.model_validate(self.fields(lesson) | {"date": day})
        self.attempt(sessions.create_one_off, self.db, session_in=data, actor=bk.ACTOR)

    def change(self, pick: int, start: time | None) -> None:
        """Cancel (start None) or move the pick-th live lesson, by id."""
        live = sorted(
            s.id for s in self.db.query(ClassSession).filter(ClassSession.status != "CANCELLED")
        )
        if not live:
            return
        target = live[pick % len(live)]
        if start is None:
            self.attempt(sessions.cancel, self.db, target, reason="test", actor=bk.ACTOR)
            return
        move = SessionMove(start_time=start, end_time=time(start.hour + 1, start.minute))
        self.attempt(sessions.move, self.db, target, move_in=move, actor=bk.ACTOR)

    def generate(self, series_id: int | None) -> None:
        """Run generation over every series or one."""
        scope = generation.Scope(now=NOW, horizon_days=7, series_id=series_id)
        self.attempt(
            generation.generate_in, self.db, trigger=RunTrigger.CLI, scope=scope, actor=bk.ACTOR
        )


@settings(
    max_examples=EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
@given(one_offs, changes, series_specs, st.booleans(), changes, one_offs)
def test_verdicts_after_bookings_changes_and_generation_follow_the_rule(
    db: Session,
    before: list[tuple[Lesson, str]],
    early_changes: list[tuple[int, time | None]],
    specs: list[tuple[Lesson, set[str]]],
    one_batch: bool,
    late_changes: list[tuple[int, time | None]],
    after: list[tuple[Lesson, str]],
) -> None:
    savepoint = db.begin_nested()
    school = School(db)
    for lesson, day in before:
        school.book(lesson, day)
    for pick, start in early_changes:
        school.change(pick, start)
    made = []
    for lesson, days in specs:
        fields = school.fields(lesson) | {"weekdays": sorted(days), "first_date": "2027-03-08"}
        school.attempt(lambda fields=fields: made.append(bk.series(db, **fields)))
    for series_id in [None] if one_batch else made:
        school.generate(series_id)
    for pick, start in late_changes:
        school.change(pick, start)
    for lesson, day in after:
        school.book(lesson, day)
    assert_verdicts_follow_the_rule(bk.seen_by_rule(db))  # type: ignore[arg-type]
    savepoint.rollback()
