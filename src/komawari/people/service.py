"""Teachers, students and rooms."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.branches.models import Branch
from komawari.errors import Conflict, InvalidInput
from komawari.people.models import Room, Student, Teacher
from komawari.words import Say, say


def clean_name(value: str) -> str:
    """Return a name stripped, or raise InvalidInput when it is blank or too long."""
    value = value.strip()
    if not value:
        raise InvalidInput("name", say("name.blank", "must not be blank"))
    if len(value) > 200:
        raise InvalidInput("name", say("name.too-long", "at most %(max)s characters", max=200))
    return value


def teacher_taken(name: str) -> Say:
    """A teacher's name that another teacher has."""
    return say("teacher.duplicate-name", "a teacher called %(name)s already exists", name=name)


def student_taken(name: str) -> Say:
    """A student's name that another student has."""
    return say("student.duplicate-name", "a student called %(name)s already exists", name=name)


def room_taken(name: str) -> Say:
    """A room's name that another room of its branch has."""
    return say("room.duplicate-name", "the branch already has a room called %(name)s", name=name)


def create_teacher(db: Session, *, name: str, actor: Actor, email: str | None = None) -> Teacher:
    """Create a teacher (names are unique)."""
    name = clean_name(name)
    if db.scalar(select(Teacher.id).where(Teacher.name == name)) is not None:
        raise Conflict(teacher_taken(name))
    row = Teacher(name=name, email=email)
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="teacher.create",
        subject_type="teacher",
        subject_id=row.id,
        details={"name": name},
    )
    return row


def create_student(db: Session, *, name: str, actor: Actor, email: str | None = None) -> Student:
    """Create a student (names are unique)."""
    name = clean_name(name)
    if db.scalar(select(Student.id).where(Student.name == name)) is not None:
        raise Conflict(student_taken(name))
    row = Student(name=name, email=email)
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="student.create",
        subject_type="student",
        subject_id=row.id,
        details={"name": name},
    )
    return row


def create_room(db: Session, *, branch_id: int, name: str, capacity: int, actor: Actor) -> Room:
    """Create a room at a branch."""
    name = clean_name(name)
    if db.get(Branch, branch_id) is None:
        raise InvalidInput(
            "branch_id", say("branch.not-found", "branch %(id)s does not exist", id=branch_id)
        )
    if capacity < 1:
        raise InvalidInput("capacity", say("room.capacity-too-small", "must be at least 1"))
    if db.scalar(select(Room.id).where(Room.branch_id == branch_id, Room.name == name)):
        raise Conflict(room_taken(name))
    row = Room(branch_id=branch_id, name=name, capacity=capacity)
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="room.create",
        subject_type="room",
        subject_id=row.id,
        branch_id=branch_id,
        details={"name": name, "capacity": capacity},
    )
    return row
