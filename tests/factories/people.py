"""Teachers, students and rooms as test rows."""

from __future__ import annotations

from sqlalchemy.orm import Session

from komawari.branches.models import Branch
from komawari.people.models import Room, Student, Teacher
from tests.factories.names import unique


def teacher(db: Session, *, name: str | None = None) -> Teacher:
    row = Teacher(name=name or f"Teacher {unique()}")
    db.add(row)
    db.flush()
    return row


def student(db: Session, *, name: str | None = None) -> Student:
    row = Student(name=name or f"Student {unique()}")
    db.add(row)
    db.flush()
    return row


def room(db: Session, branch_row: Branch, *, capacity: int = 4) -> Room:
    row = Room(branch_id=branch_row.id, name=f"Room {unique()}", capacity=capacity)
    db.add(row)
    db.flush()
    return row
