"""/api/teachers, /api/students, /api/rooms: people are school-wide, rooms per branch."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from komawari.auth.dependencies import (
    AdminCaller,
    NewRoom,
    ReadableRoom,
    ReadableStudent,
    ReadableTeacher,
    StaffCaller,
    VisibleBranchIds,
    WritableRoom,
    WritableStudent,
    WritableTeacher,
)
from komawari.people import queries, status
from komawari.people import service as people_service
from komawari.people.models import Student, Teacher
from komawari.people.schemas import (
    PersonCreate,
    PersonPage,
    PersonRead,
    Rename,
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


@teachers.patch("/{teacher_id}", summary="Rename a teacher")
def rename_teacher(body: Rename, teacher: WritableTeacher, db: Db, who: Caller) -> PersonRead:
    """Give a teacher a new name (409 when another teacher has it)."""
    row = status.rename(db, "teacher", teacher.id, name=body.name, actor=who.actor)
    return PersonRead.model_validate(row)


@teachers.post("/{teacher_id}/deactivate", summary="Deactivate a teacher (admins)")
def deactivate_teacher(teacher: WritableTeacher, db: Db, who: AdminCaller) -> PersonRead:
    """No new bookings for the teacher at any branch; their lessons stay (409 while a series
    names them). Admins only: it changes what every branch may book."""
    return PersonRead.model_validate(status.deactivate(db, "teacher", teacher.id, actor=who.actor))


@students.patch("/{student_id}", summary="Rename a student")
def rename_student(body: Rename, student: WritableStudent, db: Db, who: Caller) -> PersonRead:
    """Give a student a new name (409 when another student has it)."""
    row = status.rename(db, "student", student.id, name=body.name, actor=who.actor)
    return PersonRead.model_validate(row)


@students.post("/{student_id}/deactivate", summary="Deactivate a student (admins)")
def deactivate_student(student: WritableStudent, db: Db, who: AdminCaller) -> PersonRead:
    """No new bookings for the student at any branch; their lessons stay (409 while a series
    names them). Admins only: it changes what every branch may book."""
    return PersonRead.model_validate(status.deactivate(db, "student", student.id, actor=who.actor))


@rooms.patch("/{room_id}", summary="Rename a room")
def rename_room(body: Rename, room: WritableRoom, db: Db, who: Caller) -> RoomRead:
    """Give a room a new name (409 when another room of its branch has it)."""
    row = status.rename(db, "room", room.id, name=body.name, actor=who.actor)
    return RoomRead.model_validate(row)


@rooms.post("/{room_id}/deactivate", summary="Deactivate a room")
def deactivate_room(room: WritableRoom, db: Db, who: Caller) -> RoomRead:
    """No new bookings in the room; its lessons stay (409 while a series names it)."""
    return RoomRead.model_validate(status.deactivate(db, "room", room.id, actor=who.actor))
