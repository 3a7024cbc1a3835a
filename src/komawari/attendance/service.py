"""Marking attendance: each mark is kept per lesson and student, and an absence that the
policy rewards earns a make-up credit, once; a correction takes the credit back (revoked
if unused, flagged for staff if used)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from komawari.attendance import credits, policies
from komawari.attendance.enums import AttendanceState
from komawari.attendance.models import AttendanceMark, Credit
from komawari.attendance.schemas import LessonMarks, MarkIn
from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.errors import InvalidInput
from komawari.scheduling import clock
from komawari.sessions import queries
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from komawari.words import say


@dataclass
class Marked:
    """What one request of marks did."""

    marks: list[AttendanceMark] = field(default_factory=list)
    issued: list[int] = field(default_factory=list)
    revoked: list[int] = field(default_factory=list)
    flagged: list[int] = field(default_factory=list)


def earns(policy: policies.Policy, mark: AttendanceMark, lesson: ClassSession) -> bool:
    """Tell whether a mark of `lesson` earns a credit under `policy`."""
    return policies.earns(
        policy,
        state=mark.state,
        notified_at=mark.notified_at,
        day=lesson.date,
        starts_at=lesson.starts_at,
        zone_name=lesson.time_zone,
    )


def mark(db: Session, lesson: ClassSession, marks: list[MarkIn], actor: Actor) -> Marked:
    """Record the marks of one lesson (before it, an absence notice; after, the roll)."""
    return mark_many(db, [(lesson, marks)], actor)[0]


# One statement for every mark of a request: the existing marks are locked and read (for
# the audit's "before"), then each is inserted or updated. An absence notice sent again
# without its time keeps the time it had. A concurrent request marking the same student
# waits for this one (the row lock, or the insert's unique index) and then updates it.
_UPSERT = text(
    """
WITH wanted AS (
    SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb))
        AS w(session_id bigint, student_id bigint, state attendance_state,
             notified_at timestamptz, keep_notice boolean)
), old AS (
    SELECT m.session_id, m.student_id, m.state, m.notified_at
      FROM attendance_marks m JOIN wanted w USING (session_id, student_id)
       FOR UPDATE OF m
), up AS (
    INSERT INTO attendance_marks AS m (session_id, student_id, state, notified_at, marked_by,
                                       marked_at)
    SELECT session_id, student_id, state, notified_at, :by, :now FROM wanted
    ON CONFLICT (session_id, student_id) DO UPDATE
       SET state = excluded.state,
           notified_at = CASE
               WHEN excluded.state = 'absent_notified' AND m.state = 'absent_notified'
                    AND m.notified_at IS NOT NULL
                    AND (SELECT w.keep_notice FROM wanted w
                          WHERE w.session_id = excluded.session_id
                            AND w.student_id = excluded.student_id)
               THEN m.notified_at ELSE excluded.notified_at END,
           marked_by = excluded.marked_by, marked_at = excluded.marked_at
    RETURNING m.id, m.session_id, m.student_id
)
SELECT up.id, up.session_id, up.student_id,
       old.state::text AS old_state, old.notified_at AS old_notified_at
  FROM up LEFT JOIN old USING (session_id, student_id)
"""
)


def mark_many(
    db: Session,
    lessons: list[tuple[ClassSession, list[MarkIn]]],
    actor: Actor,
    *,
    fields: list[str] | None = None,
) -> list[Marked]:
    """Record the marks of several lessons (a day's roll) in a few statements, however
    many marks: checked first (all or nothing), written in one statement, audited in
    one; only a mark that earns a credit or takes one back is settled on its own."""
    allowed = students_of(db, [lesson for lesson, _ in lessons])
    now = clock.db_now(db)
    wanted: list[dict[str, Any]] = []
    for k, (lesson, marks) in enumerate(lessons):
        try:
            wanted += _checked(lesson, marks, allowed[lesson.id], now)
        except InvalidInput as exc:
            if not fields:
                raise
            raise InvalidInput(fields[k] + exc.field, exc.said or str(exc)) from exc
    if not wanted:
        return [Marked() for _ in lessons]
    written = db.execute(_UPSERT, {"rows": json.dumps(wanted), "by": actor.name, "now": now}).all()
    rows = {
        (m.session_id, m.student_id): m
        for m in db.scalars(
            select(AttendanceMark)
            .where(AttendanceMark.id.in_([w.id for w in written]))
            .execution_options(populate_existing=True)
        )
    }
    before = {
        (w.session_id, w.student_id): (
            {"state": w.old_state, "notified_at": _iso(w.old_notified_at)}
            if w.old_state is not None
            else None
        )
        for w in written
    }
    by_id = {lesson.id: lesson for lesson, _ in lessons}
    audit.record_many(
        db,
        actor=actor,
        action="attendance.mark",
        subject_type="session",
        rows=[
            (
                sid,
                by_id[sid].branch_id,
                {
                    "student_id": student,
                    "before": before[(sid, student)],
                    "after": {
                        "state": rows[(sid, student)].state.value,
                        "notified_at": _iso(rows[(sid, student)].notified_at),
                    },
                },
            )
            for sid, student in ((w["session_id"], w["student_id"]) for w in wanted)
        ],
    )
    rules = policies.for_lessons(db, [lesson for lesson, _ in lessons])
    held = credits.of_absences(db, list(rows))
    done = []
    for lesson, marks in lessons:
        marked = Marked()
        for one in marks:
            row = rows[(lesson.id, one.student_id)]
            marked.marks.append(row)
            _settle(db, lesson, row, actor, marked, rules[lesson.id],
                    held.get((lesson.id, one.student_id)))  # fmt: skip
        done.append(marked)
    return done


def _checked(
    lesson: ClassSession, marks: list[MarkIn], allowed: set[int], now: datetime
) -> list[dict[str, Any]]:
    """The rows to write for one lesson's marks, or the refusal that names what is wrong."""
    _refuse_cancelled(lesson)
    seen: set[int] = set()
    rows = []
    for one in marks:
        if one.student_id not in allowed:
            raise InvalidInput(
                "student_id",
                say("attendance.not-in-lesson", "student %(id)s is not in this lesson",
                    id=one.student_id),
            )  # fmt: skip
        if one.student_id in seen:
            raise InvalidInput(
                "student_id",
                say("attendance.twice", "student %(id)s is marked twice", id=one.student_id),
            )
        seen.add(one.student_id)
        rows.append(
            {
                "session_id": lesson.id,
                "student_id": one.student_id,
                "state": one.state.value,
                "notified_at": _iso(_notified_at(one, now)),
                "keep_notice": one.notified_at is None,
            }
        )
    return rows


def students_of(db: Session, lessons: list[ClassSession]) -> dict[int, set[int]]:
    """The students each lesson is for: its student, or its group's attendees (one query,
    `sessions.queries.attendees`)."""
    groups = queries.attendees(db, [lesson.id for lesson in lessons if lesson.student_id is None])
    return {
        lesson.id: {lesson.student_id}
        if lesson.student_id is not None
        else set(groups.get(lesson.id, []))
        for lesson in lessons
    }


def _audit_mark(
    db: Session,
    lesson: ClassSession,
    row: AttendanceMark,
    before: dict[str, str | None] | None,
    actor: Actor,
) -> None:
    audit.record(
        db,
        actor=actor,
        action="attendance.mark",
        subject_type="session",
        subject_id=lesson.id,
        branch_id=lesson.branch_id,
        details={
            "student_id": row.student_id,
            "before": before,
            "after": {"state": row.state.value, "notified_at": _iso(row.notified_at)},
        },
    )


def _refuse_cancelled(lesson: ClassSession) -> None:
    if lesson.status == SessionStatus.CANCELLED:
        raise InvalidInput(
            "session_id", say("attendance.lesson-cancelled", "this lesson is cancelled")
        )


def mark_all_present(db: Session, lesson: ClassSession, actor: Actor) -> Marked:
    """Mark present every student of the lesson who has no mark yet; a student already
    marked (by this roll or by a request at the same moment) keeps their mark."""
    _refuse_cancelled(lesson)
    done = Marked()
    students = sorted(students_of(db, [lesson])[lesson.id])
    if not students:
        return done
    made = db.scalars(
        insert(AttendanceMark)
        .values(
            [
                {
                    "session_id": lesson.id,
                    "student_id": student,
                    "state": AttendanceState.PRESENT,
                    "marked_by": actor.name,
                }
                for student in students
            ]
        )
        .on_conflict_do_nothing(index_elements=["session_id", "student_id"])
        .returning(AttendanceMark.id)
    ).all()
    for mark_id in sorted(made):
        row = db.get_one(AttendanceMark, mark_id)
        _audit_mark(db, lesson, row, None, actor)
        done.marks.append(row)
    return done


def mark_day(
    db: Session, branch_id: int, day: date, marks: list[LessonMarks], actor: Actor
) -> list[tuple[ClassSession, Marked]]:
    """Record a day's roll at a branch, lesson by lesson, all or nothing: every lesson
    named must be one of that branch and day (else nothing is marked)."""
    ids = [lesson.session_id for lesson in marks]
    rows = {r.id: r for r in db.scalars(select(ClassSession).where(ClassSession.id.in_(ids)))}
    seen: set[int] = set()
    for i, sid in enumerate(ids):
        row = rows.get(sid)
        if row is None or row.branch_id != branch_id or row.date != day:
            raise InvalidInput(
                f"lessons.{i}.session_id",
                say(
                    "attendance.not-that-day",
                    "lesson %(id)s is not a lesson of this branch on %(day)s",
                    id=sid,
                    day=day,
                ),
            )
        if sid in seen:
            raise InvalidInput(
                f"lessons.{i}.session_id",
                say("attendance.lesson-twice", "lesson %(id)s is listed twice", id=sid),
            )
        seen.add(sid)
    done = mark_many(
        db,
        [(rows[m.session_id], m.marks) for m in marks],
        actor,
        fields=[f"lessons.{i}." for i in range(len(marks))],  # which of the day's is refused
    )
    return [(rows[m.session_id], d) for m, d in zip(marks, done, strict=True)]


def _settle(
    db: Session,
    lesson: ClassSession,
    row: AttendanceMark,
    actor: Actor,
    done: Marked,
    policy: policies.Policy,
    existing: Credit | None,
) -> None:
    if earns(policy, row, lesson):
        if existing is None:
            made = credits.issue(db, lesson, row.student_id, actor, policy=policy)
            if made is not None:
                done.issued.append(made.id)
        return
    if existing is not None:
        why = f"attendance corrected to {row.state.value}"
        outcome = credits.take_back(db, existing, actor, why)
        if outcome == "revoked":
            done.revoked.append(existing.id)
        elif outcome == "flagged":
            done.flagged.append(existing.id)


def _notified_at(wanted: MarkIn, now: datetime) -> datetime | None:
    if wanted.state != AttendanceState.ABSENT_NOTIFIED:
        return None
    if wanted.notified_at is None:
        return now
    if wanted.notified_at > now:
        raise InvalidInput(
            "notified_at",
            say("attendance.notice-in-future", "a notice cannot come from the future"),
        )
    return wanted.notified_at


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
