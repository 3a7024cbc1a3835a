"""Renaming and deactivating teachers, students and rooms; who may still be booked.

A deactivated teacher, student or room cannot be booked (a one-off lesson, a new series or
pattern, an enrolment); their lessons stay. Deactivation is refused while a series that is
not ENDED still names them: generation never books someone who left, and the staff decide
what happens to those lessons (end the series, or change its teacher from a date).
"""

from __future__ import annotations

from typing import Literal
from typing import cast as type_cast

from sqlalchemy import Date, and_, cast, func, literal, or_, select
from sqlalchemy.orm import Session

from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.branches.models import Branch
from komawari.errors import Conflict, InvalidInput
from komawari.people import queries
from komawari.people.models import Room, Student, Teacher
from komawari.people.service import clean_name, room_taken, student_taken, teacher_taken
from komawari.scheduling import timerules
from komawari.series.enums import SeriesStatus
from komawari.series.models import ClassSeries, SeriesEnrolment
from komawari.words import Say, say

Kind = Literal["teacher", "student", "room"]
Person = Teacher | Student | Room


MODELS: dict[Kind, type[Teacher] | type[Student] | type[Room]] = {
    "teacher": Teacher,
    "student": Student,
    "room": Room,
}


def get(db: Session, kind: Kind, row_id: int) -> Person:
    """Return the teacher, student or room, or raise NotFound."""
    if kind == "teacher":
        return queries.get_teacher(db, row_id)
    if kind == "student":
        return queries.get_student(db, row_id)
    return queries.get_room(db, row_id)


def _missing(kind: Kind, row_id: int) -> Say:
    if kind == "teacher":
        return say("teacher.not-found", "teacher %(id)s does not exist", id=row_id)
    if kind == "student":
        return say("student.not-found", "student %(id)s does not exist", id=row_id)
    return say("room.not-found", "room %(id)s does not exist", id=row_id)


def _deactivated(kind: Kind, row: Person) -> Say:
    if kind == "teacher":
        return say("teacher.deactivated", "teacher %(id)s (%(name)s) is deactivated",
                   id=row.id, name=row.name)  # fmt: skip
    if kind == "student":
        return say("student.deactivated", "student %(id)s (%(name)s) is deactivated",
                   id=row.id, name=row.name)  # fmt: skip
    return say("room.deactivated", "room %(id)s (%(name)s) is deactivated",
               id=row.id, name=row.name)  # fmt: skip


def _bookable(db: Session, kind: Kind, row_id: int, field: str) -> None:
    row = type_cast(Person | None, db.get(MODELS[kind], row_id))
    if row is None:
        raise InvalidInput(field, _missing(kind, row_id))
    if not row.active:
        raise InvalidInput(field, _deactivated(kind, row))


def check_bookable(
    db: Session,
    *,
    teacher_id: int | None = None,
    student_ids: list[int] | tuple[int, ...] = (),
    room_id: int | None = None,
    branch_id: int | None = None,
) -> None:
    """Raise InvalidInput naming the field of anyone who does not exist or is deactivated."""
    if teacher_id is not None:
        _bookable(db, "teacher", teacher_id, "teacher_id")
    for student_id in student_ids:
        _bookable(db, "student", student_id, "student_id")
    if room_id is not None:
        room = db.get(Room, room_id)
        if room is None or (branch_id is not None and room.branch_id != branch_id):
            raise InvalidInput(
                "room_id",
                say(
                    "room.not-at-branch",
                    "room %(id)s does not exist at branch %(branch_id)s",
                    id=room_id,
                    branch_id=branch_id,
                ),
            )
        _bookable(db, "room", room_id, "room_id")


def rename(db: Session, kind: Kind, row_id: int, *, name: str, actor: Actor) -> Person:
    """Give a teacher, student or room a new name (unique as on creation)."""
    row = get(db, kind, row_id)
    name = clean_name(name)
    model = type(row)
    same = select(model.id).where(model.name == name, model.id != row.id)
    if isinstance(row, Room):
        same = same.where(Room.branch_id == row.branch_id)
    if db.scalar(same) is not None:
        taken = {"teacher": teacher_taken, "student": student_taken, "room": room_taken}[kind]
        raise Conflict(taken(name))
    before, row.name = row.name, name
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=f"{kind}.rename",
        subject_type=kind,
        subject_id=row.id,
        branch_id=row.branch_id if isinstance(row, Room) else None,
        details={"from": before, "to": name},
    )
    return row


def _live_series(db: Session, row: Person) -> list[int]:
    """Return the ids of the series that name `row` and still run: not ENDED, and not
    past their last date at their branch (a series ending today still runs today)."""
    branch_today = cast(func.timezone(Branch.time_zone, literal(timerules.now())), Date)
    live = and_(
        ClassSeries.status != SeriesStatus.ENDED,
        or_(ClassSeries.last_date.is_(None), ClassSeries.last_date >= branch_today),
    )
    if isinstance(row, Teacher):
        names = ClassSeries.teacher_id == row.id
    elif isinstance(row, Room):
        names = ClassSeries.room_id == row.id
    else:
        enrolled = select(SeriesEnrolment.series_id).where(
            SeriesEnrolment.student_id == row.id,
            or_(SeriesEnrolment.until_date.is_(None), SeriesEnrolment.until_date >= branch_today),
        )
        names = or_(ClassSeries.student_id == row.id, ClassSeries.id.in_(enrolled))
    query = (
        select(ClassSeries.id)
        .join(Branch, Branch.id == ClassSeries.branch_id)
        .where(live, names)
        .order_by(ClassSeries.id)
    )
    return list(db.scalars(query))


def deactivate(db: Session, kind: Kind, row_id: int, *, actor: Actor) -> Person:
    """Deactivate a teacher, student or room: no new bookings; their lessons stay."""
    row = get(db, kind, row_id)
    if not row.active:
        return row
    series = _live_series(db, row)
    if series:
        listed = ", ".join(map(str, series[:10])) + (", ..." if len(series) > 10 else "")
        raise Conflict(
            say(
                "people.on-running-series",
                "%(name)s is still on series %(series)s; end them (or change them from a date)"
                " first",
                name=row.name,
                series=listed,
            ),
            series_ids=series,
        )
    row.active = False
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=f"{kind}.deactivate",
        subject_type=kind,
        subject_id=row.id,
        branch_id=row.branch_id if isinstance(row, Room) else None,
        details={"name": row.name},
    )
    return row
