"""/api/teachers, /api/students, /api/rooms: people are school-wide, rooms per branch."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from komawari.auth.dependencies import (
    NewRoom,
    ReadableRoom,
    ReadableStudent,
    ReadableTeacher,
    StaffCaller,
    VisibleBranchIds,
)
from komawari.people import queries
from komawari.people import service as people_service
from komawari.people.models import Student, Teacher
from komawari.people.schemas import (
    PersonCreate,
    PersonPage,
    PersonRead,
    RoomPage,
    RoomRead,
)
from komawari.web.deps import Caller, Cursor, Db, Limit, id_after, next_id_cursor
from komawari.web.routing import api_router

teachers = api_router("/teachers", "people")
students = api_router("/students", "people")
rooms = api_router("/rooms", "rooms")
routers: list[APIRouter] = [teachers, students, rooms]


def _page(rows: Sequence[Teacher | Student], limit: int) -> PersonPage:
    items = [PersonRead.model_validate(r) for r in rows]
    return PersonPage(items=items, next_cursor=next_id_cursor([p.id for p in items], limit))


@teachers.get("", summary="List teachers")
def list_teachers(db: Db, _: StaffCaller, cursor: Cursor = None, limit: Limit = 100) -> PersonPage:
    """List teachers by id (teachers are school-wide)."""
    return _page(queries.teachers(db, after_id=id_after(cursor), limit=limit), limit)


@teachers.post("", status_code=201, summary="Add a teacher")
def create_teacher(body: PersonCreate, db: Db, who: StaffCaller) -> PersonRead:
    """Add a teacher (names are unique: 409 names the clash)."""
    row = people_service.create_teacher(db, name=body.name, email=body.email, actor=who.actor)
    return PersonRead.model_validate(row)


@teachers.get("/{teacher_id}", summary="Get a teacher")
def get_teacher(teacher: ReadableTeacher) -> PersonRead:
    """Return a teacher (a teacher's token: only itself)."""
    return PersonRead.model_validate(teacher)


@students.get("", summary="List students")
def list_students(db: Db, _: StaffCaller, cursor: Cursor = None, limit: Limit = 100) -> PersonPage:
    """List students by id (students are school-wide)."""
    return _page(queries.students(db, after_id=id_after(cursor), limit=limit), limit)


@students.post("", status_code=201, summary="Add a student")
def create_student(body: PersonCreate, db: Db, who: StaffCaller) -> PersonRead:
    """Add a student (names are unique: 409 names the clash)."""
    row = people_service.create_student(db, name=body.name, email=body.email, actor=who.actor)
    return PersonRead.model_validate(row)


@students.get("/{student_id}", summary="Get a student")
def get_student(student: ReadableStudent) -> PersonRead:
    """Return a student."""
    return PersonRead.model_validate(student)


@rooms.get("", summary="List rooms")
def list_rooms(
    db: Db, branch_ids: VisibleBranchIds, cursor: Cursor = None, limit: Limit = 100
) -> RoomPage:
    """List rooms by id; staff see their branches' rooms only."""
    rows = queries.rooms(db, branch_ids=branch_ids, after_id=id_after(cursor), limit=limit)
    items = [RoomRead.model_validate(r) for r in rows]
    return RoomPage(items=items, next_cursor=next_id_cursor([r.id for r in items], limit))


@rooms.post("", status_code=201, summary="Add a room at a branch")
def create_room(body: NewRoom, db: Db, who: Caller) -> RoomRead:
    """Add a room at a branch."""
    row = people_service.create_room(
        db, branch_id=body.branch_id, name=body.name, capacity=body.capacity, actor=who.actor
    )
    return RoomRead.model_validate(row)


@rooms.get("/{room_id}", summary="Get a room")
def get_room(room: ReadableRoom) -> RoomRead:
    """Return a room."""
    return RoomRead.model_validate(room)
