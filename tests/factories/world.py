"""A small school made through the services: two branches, people, rooms, and a user
and token per role; and the helpers API and page tests share."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from komawari.audit.models import AuditEvent
from komawari.audit.service import Actor
from komawari.auth import service as auth
from komawari.auth.enums import Role
from komawari.branches import service as branches
from komawari.db.engine import session_scope
from komawari.people import service as people
from komawari.series.models import ClassSeries
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession

SETUP = Actor("test", "setup")


@dataclass
class World:
    """Two branches, people, rooms, and a token per role."""

    branch_a: int
    branch_b: int
    teacher_1: int
    teacher_2: int
    student_1: int
    student_2: int
    student_3: int
    room_a: int
    room_b: int
    admin: str
    staff_a: str
    teacher: str


def bearer(token: str) -> dict[str, str]:
    """Return the Authorization header of a token."""
    return {"Authorization": f"Bearer {token}"}


def next_weekday(iso: int, *, weeks: int = 1) -> date:
    """Return a date with ISO weekday `iso`, some weeks from today (inside the horizon)."""
    today = date.today()
    return today + timedelta(days=(iso - today.isoweekday()) % 7 + 7 * weeks)


def make_world(engine: Engine) -> World:
    """Create the world through the services."""
    with session_scope(engine) as s:
        a = branches.create(s, name="Shibuya", time_zone="Asia/Tokyo", actor=SETUP)
        b = branches.create(s, name="Osaka", time_zone="Asia/Tokyo", actor=SETUP)
        t1 = people.create_teacher(s, name="Sato", actor=SETUP)
        t2 = people.create_teacher(s, name="Suzuki", actor=SETUP)
        st = [people.create_student(s, name=n, actor=SETUP) for n in ("Aoi", "Riku", "Mei")]
        ra = people.create_room(s, branch_id=a.id, name="A1", capacity=4, actor=SETUP)
        rb = people.create_room(s, branch_id=b.id, name="B1", capacity=4, actor=SETUP)
        tokens = {}
        for name, role, branch_ids, teacher_id in (
            ("admin", Role.ADMIN, [], None),
            ("staff-a", Role.STAFF, [a.id], None),
            ("teacher-1", Role.TEACHER, [], t1.id),
        ):
            user, _ = auth.ensure_user(
                s,
                username=name,
                role=role,
                branch_ids=branch_ids,
                teacher_id=teacher_id,
                actor=SETUP,
            )
            tokens[name] = auth.create_token(s, user=user, name="test", actor=SETUP)[1]
        return World(
            branch_a=a.id,
            branch_b=b.id,
            teacher_1=t1.id,
            teacher_2=t2.id,
            student_1=st[0].id,
            student_2=st[1].id,
            student_3=st[2].id,
            room_a=ra.id,
            room_b=rb.id,
            admin=tokens["admin"],
            staff_a=tokens["staff-a"],
            teacher=tokens["teacher-1"],
        )


def series_body(w: World, **changes: object) -> dict[str, object]:
    """Return a valid private series body at branch A."""
    body: dict[str, object] = {
        "branch_id": w.branch_a,
        "teacher_id": w.teacher_1,
        "student_id": w.student_1,
        "weekdays": [4],
        "start_time": "20:00",
        "end_time": "21:30",
        "first_date": next_weekday(1, weeks=0).isoformat(),
    }
    body.update(changes)
    return body


def one_off_body(w: World, **changes: object) -> dict[str, Any]:
    """Return a valid one-off lesson body at branch A (teacher 1, student 1, 18:00-19:00)."""
    body: dict[str, Any] = {
        "branch_id": w.branch_a,
        "teacher_id": w.teacher_1,
        "student_id": w.student_1,
        "date": next_weekday(3).isoformat(),
        "start_time": "18:00",
        "end_time": "19:00",
    }
    return body | changes


def counts(engine: Engine) -> dict[str, int]:
    """Count the rows a bad request must not add."""
    with session_scope(engine) as s:
        return {
            "series": s.scalar(select(func.count()).select_from(ClassSeries)) or 0,
            "sessions": s.scalar(select(func.count()).select_from(ClassSession)) or 0,
            "audit": s.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        }


def free_port() -> int:
    """Return a free TCP port on the loopback address."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def book(engine: Engine, w: World, day: date, start: str, end: str, **changes: object) -> int:
    """Book a one-off lesson through the service (teacher 1, student 1 at branch A unless
    `changes` says otherwise) and commit it; return its id."""
    from tests.factories import bookings

    fields: dict[str, object] = {
        "branch_id": w.branch_a,
        "teacher_id": w.teacher_1,
        "student_id": w.student_1,
        "date": day,
        "start_time": start,
        "end_time": end,
    } | changes
    with session_scope(engine) as s:
        return bookings.one_off(s, **fields).id


def status_of(engine: Engine, session_id: int) -> SessionStatus:
    """Return a session's status as committed."""
    with session_scope(engine) as s:
        return s.get_one(ClassSession, session_id).status
