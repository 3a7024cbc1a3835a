"""Teachers, students and rooms."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.branches.models import Branch
from komawari.errors import Conflict, InvalidInput
from komawari.people.models import Room, Student, Teacher


def clean_name(value: str) -> str:
    """Return a name stripped, or raise InvalidInput when it is blank or too long."""
    value = value.strip()
    if not value:
        raise InvalidInput("name", "must not be blank")
    if len(value) > 200:
        raise InvalidInput("name", "at most 200 characters")
    return value


def create_teacher(db: Session, *, name: str, actor: Actor, email: str | None = None) -> Teacher:
    """Create a teacher (names are unique)."""
    name = clean_name(name)
    if db.scalar(select(Teacher.id).where(Teacher.name == name)) is not None:
        raise Conflict(f"a teacher called {name!r} already exists")
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
        raise Conflict(f"a student called {name!r} already exists")
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
        raise InvalidInput("branch_id", f"branch {branch_id} does not exist")
    if capacity < 1:
        raise InvalidInput("capacity", "must be at least 1")
    if db.scalar(select(Room.id).where(Room.branch_id == branch_id, Room.name == name)):
        raise Conflict(f"branch {branch_id} already has a room called {name!r}")
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
