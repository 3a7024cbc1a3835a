"""Reading teachers, students and rooms (keyset pages by id)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from komawari.errors import NotFound
from komawari.people.models import Room, Student, Teacher
from komawari.words import say


def get_teacher(db: Session, teacher_id: int) -> Teacher:
    """Return the teacher, or raise NotFound."""
    row = db.get(Teacher, teacher_id)
    if row is None:
        raise NotFound(say("teacher.not-found", "teacher %(id)s does not exist", id=teacher_id))
    return row


def get_student(db: Session, student_id: int) -> Student:
    """Return the student, or raise NotFound."""
    row = db.get(Student, student_id)
    if row is None:
        raise NotFound(say("student.not-found", "student %(id)s does not exist", id=student_id))
    return row


def get_room(db: Session, room_id: int) -> Room:
    """Return the room, or raise NotFound."""
    row = db.get(Room, room_id)
    if row is None:
        raise NotFound(say("room.not-found", "room %(id)s does not exist", id=room_id))
    return row


def teachers(db: Session, *, after_id: int = 0, limit: int = 100) -> list[Teacher]:
    """List teachers by id."""
    query = select(Teacher).where(Teacher.id > after_id).order_by(Teacher.id).limit(limit)
    return list(db.scalars(query))


def students(db: Session, *, after_id: int = 0, limit: int = 100) -> list[Student]:
    """List students by id."""
    query = select(Student).where(Student.id > after_id).order_by(Student.id).limit(limit)
    return list(db.scalars(query))


def rooms(
    db: Session, *, branch_ids: list[int] | None = None, after_id: int = 0, limit: int = 100
) -> list[Room]:
    """List rooms by id (of `branch_ids` when given)."""
    query = select(Room).where(Room.id > after_id).order_by(Room.id).limit(limit)
    if branch_ids is not None:
        query = query.where(Room.branch_id.in_(branch_ids))
    return list(db.scalars(query))


def _like(text: str) -> str:
    """A LIKE pattern that finds `text` anywhere, its own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def find(
    db: Session, text: str, *, branch_ids: list[int] | None, limit: int = 20
) -> tuple[list[Teacher], list[Student], list[Room]]:
    """Find teachers, students and rooms (of `branch_ids`; None: all) whose name holds
    `text`, whatever its case; by name, `limit` of each."""
    pattern = _like(text.strip())
    rooms = select(Room).where(Room.name.ilike(pattern, escape="\\"))
    if branch_ids is not None:
        rooms = rooms.where(Room.branch_id.in_(branch_ids))
    return (
        list(db.scalars(select(Teacher).where(Teacher.name.ilike(pattern, escape="\\"))
                        .order_by(Teacher.name).limit(limit))),
        list(db.scalars(select(Student).where(Student.name.ilike(pattern, escape="\\"))
                        .order_by(Student.name).limit(limit))),
        list(db.scalars(rooms.order_by(Room.name, Room.id).limit(limit))),
    )  # fmt: skip
