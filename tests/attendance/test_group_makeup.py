"""A make-up (振替) for a missed group lesson: another group lesson of the branch with a
seat left (its capacity plus the group policy's make-up seats), where the student is free;
joining it uses the credit and takes the seat in one transaction, the last seat goes to
one student only, and cancelling the lesson gives the credit back."""

from __future__ import annotations

import multiprocessing
import os
from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, select

from komawari.attendance import group_makeup
from komawari.attendance import service as attendance
from komawari.attendance.enums import AttendanceState
from komawari.attendance.models import Credit
from komawari.attendance.schemas import MarkIn
from komawari.audit.service import Actor
from komawari.auth.enums import Role
from komawari.db.engine import session_scope
from komawari.series import service as series_service
from komawari.series.schemas import SeriesCreate
from komawari.sessions.models import ClassSession, SessionAttendee
from tests.attendance.conftest import _book, _post
from tests.factories.people import student
from tests.factories.world import World, bearer, next_weekday, one_off_body
from tests.web.pages import csrf_of, make_user, sign_in

WHO = Actor("test", "pytest")


def _group(engine: Engine, world: World, title: str, weekday: int, students: list[int],
           *, teacher: int, capacity: int) -> list[int]:  # fmt: skip
    """A weekly group series at branch A, 17:00-18:00; its lessons' ids, by date."""
    body = {
        "branch_id": world.branch_a, "teacher_id": teacher, "kind": "GROUP", "title": title,
        "capacity": capacity, "student_ids": students, "weekdays": [weekday],
        "start_time": "17:00", "end_time": "18:00",
        "first_date": next_weekday(weekday, weeks=0).isoformat(),
    }  # fmt: skip
    with session_scope(engine) as s:
        made, _ = series_service.create(s, series_in=SeriesCreate.model_validate(body), actor=WHO)
        rows = s.scalars(
            select(ClassSession.id)
            .where(ClassSession.series_id == made.id, ClassSession.date > date.today())
            .order_by(ClassSession.date)
        )
        return list(rows)


def _absent(client: TestClient, world: World, lesson: int, student_id: int) -> int:
    marks = {"marks": [{"student_id": student_id, "state": "absent_notified"}]}
    done = _post(client, world, f"/api/class-sessions/{lesson}/attendance", marks)
    return int(done["credits_issued"][0])


def _slots(client: TestClient, world: World, student_id: int) -> Any:
    answer = client.get(
        f"/api/students/{student_id}/makeup-slots",
        headers=bearer(world.staff_a),
        params={"weeks": 4, "limit": 100},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _join(client: TestClient, world: World, lesson: int, student_id: int, credit: int) -> Any:
    return client.post(
        f"/api/class-sessions/{lesson}/makeup-attendees",
        headers=bearer(world.staff_a),
        json={"student_id": student_id, "credit_id": credit},
    )


def _seats(client: TestClient, world: World, n: int) -> None:
    policy = {"lesson_kind": "GROUP", "makeup_seats": n}
    _post(client, world, f"/api/branches/{world.branch_a}/credit-policies", policy)


def _balance(client: TestClient, world: World, student_id: int) -> int:
    found = client.get(f"/api/students/{student_id}/credits", headers=bearer(world.admin))
    return int(found.json()["balance"])


def _school(client: TestClient, world: World, engine: Engine) -> dict[str, Any]:
    """Student 1 misses next Tuesday's English A (with students 1 and 2, room for 2) and
    has a credit; English B meets on Thursdays with student 3 alone, room for 1."""
    a = _group(engine, world, "English A", 2, [world.student_1, world.student_2],
               teacher=world.teacher_1, capacity=2)  # fmt: skip
    b = _group(engine, world, "English B", 4, [world.student_3],
               teacher=world.teacher_2, capacity=1)  # fmt: skip
    return {"a": a, "b": b, "credit": _absent(client, world, a[0], world.student_1)}


def test_a_full_group_is_not_offered_until_the_policy_gives_make_up_seats(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    school = _school(client, world, committed_engine)
    found = _slots(client, world, world.student_1)
    assert found["group"] is True
    assert found["credit_id"] == school["credit"]
    offered = {s["session_id"] for s in found["slots"]}
    assert not offered & set(school["b"]), "English B is full: 1 of 1, no make-up seats"
    assert not offered & set(school["a"]), "the student is in English A already"
    _seats(client, world, 1)
    found = _slots(client, world, world.student_1)
    b_slots = [s for s in found["slots"] if s["session_id"] in school["b"]]
    assert b_slots, "one make-up seat beyond the capacity"
    assert all(s["seats_left"] == 1 for s in b_slots)
    assert all(s["teacher_id"] == world.teacher_2 and not s["same_teacher"] for s in b_slots)
    last = date.fromisoformat(found["expires_on"])
    assert all(date.fromisoformat(s["date"]) <= last for s in found["slots"])


def test_joining_uses_the_credit_takes_the_seat_and_a_cancel_gives_it_back(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    school = _school(client, world, committed_engine)
    _seats(client, world, 1)
    target = next(s for s in _slots(client, world, world.student_1)["slots"]
                  if s["session_id"] in school["b"])["session_id"]  # fmt: skip
    joined = _join(client, world, target, world.student_1, school["credit"])
    assert joined.status_code == 200, joined.text
    assert world.student_1 in joined.json()["student_ids"]
    assert _balance(client, world, world.student_1) == 0
    assert _slots(client, world, world.student_1)["credit_id"] is None
    again = _join(client, world, school["b"][1], world.student_1, school["credit"])
    assert again.status_code == 422
    assert again.json()["code"] == "credit.in-use"
    with session_scope(committed_engine) as s:
        seated = s.scalar(select(func.count()).select_from(SessionAttendee)
                          .where(SessionAttendee.session_id == target))  # fmt: skip
    assert seated == 2, "English B: its own student and the make-up"

    cancelled = client.post(f"/api/class-sessions/{target}/cancel", headers=bearer(world.admin),
                            json={"reason": "teacher ill"})  # fmt: skip
    assert cancelled.status_code == 200, cancelled.text
    assert _balance(client, world, world.student_1) == 1, "a cancelled make-up gives it back"
    restored = client.post(f"/api/class-sessions/{target}/restore", headers=bearer(world.admin),
                           json={"reason": "teacher better"})  # fmt: skip
    assert restored.status_code == 200, restored.text
    assert _balance(client, world, world.student_1) == 0, "restored: it is used again"


def test_a_full_lesson_a_busy_student_and_a_private_lesson_are_refused_by_name(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    school = _school(client, world, committed_engine)
    full = _join(client, world, school["b"][0], world.student_1, school["credit"])
    assert full.status_code == 409
    assert full.json()["code"] == "makeup.full"
    assert "1 students for 1 places and 0 make-up seats" in full.json()["detail"]
    _seats(client, world, 1)
    with session_scope(committed_engine) as s:
        day = s.get_one(ClassSession, school["b"][0]).date
    _book(client, world, date=day.isoformat(), start_time="17:30", end_time="18:30",
          teacher_id=world.teacher_1)  # fmt: skip
    busy = _join(client, world, school["b"][0], world.student_1, school["credit"])
    assert busy.status_code == 409
    assert busy.json()["code"] == "makeup.student-busy"
    offered = {s["session_id"] for s in _slots(client, world, world.student_1)["slots"]}
    assert school["b"][0] not in offered, "the student is busy then"
    assert school["b"][1] in offered, "the week after, free"
    private = _book(client, world, date=next_weekday(5).isoformat(), teacher_id=world.teacher_2,
                    student_id=world.student_2)  # fmt: skip
    wrong = _join(client, world, private["id"], world.student_1, school["credit"])
    assert wrong.status_code == 422
    assert wrong.json()["code"] == "makeup.not-group"
    assert _balance(client, world, world.student_1) == 1, "nothing refused used the credit"


def _join_in_child(
    url: str, lesson: int, student_id: int, credit: int, start: Any, out: Any
) -> None:
    try:
        engine = create_engine(url, pool_size=1, max_overflow=0)
        start.wait(30)
        with session_scope(engine) as s:
            group_makeup.join(s, lesson, student_id=student_id, credit_id=credit, actor=WHO)
        out.put("done")
    except Exception as exc:
        out.put(getattr(exc, "code", type(exc).__name__))
    finally:
        os._exit(0)


def test_eight_processes_take_the_last_seat_once(
    client: TestClient, world: World, committed_engine: Engine, database_url: str
) -> None:
    school = _school(client, world, committed_engine)
    _seats(client, world, 1)
    with session_scope(committed_engine) as s:
        kids = [student(s).id for _ in range(8)]
    missed = one_off_body(world, date=next_weekday(1).isoformat(), start_time="17:00",
                          end_time="18:00", kind="GROUP", title="Trial",
                          student_ids=kids, teacher_id=world.teacher_1)  # fmt: skip
    missed.pop("student_id")
    lesson = _post(client, world, "/api/class-sessions", missed)["id"]
    with session_scope(committed_engine) as s:
        row = s.get_one(ClassSession, lesson)
        attendance.mark(s, row, [MarkIn(student_id=k, state=AttendanceState.ABSENT_NOTIFIED)
                                 for k in kids], WHO)  # fmt: skip
        credits = dict(s.execute(select(Credit.student_id, Credit.id)).all())
    target = school["b"][0]
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Barrier(8), ctx.SimpleQueue()
    procs = [ctx.Process(target=_join_in_child,
                         args=(database_url, target, k, credits[k], start, out))
             for k in kids]  # fmt: skip
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    results = sorted(out.get() for _ in procs if not out.empty())
    assert results.count("done") == 1, results
    assert results.count("makeup.full") == 7, results
    with session_scope(committed_engine) as s:
        seated = s.scalar(select(func.count()).select_from(SessionAttendee)
                          .where(SessionAttendee.session_id == target))  # fmt: skip
    assert seated == 2, "capacity 1 plus 1 make-up seat"


def test_the_office_joins_a_group_lesson_from_the_slots_page(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    school = _school(client, world, committed_engine)
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303
    page = client.get(f"/students/{world.student_1}/makeup")
    assert page.status_code == 200
    assert 'id="no-slots"' in page.text, "English B is full and there is no other group"
    _seats(client, world, 1)
    page = client.get(f"/students/{world.student_1}/makeup")
    assert "English B" in page.text
    assert f'action="/students/{world.student_1}/makeup/join"' in page.text
    form = {"csrf_token": csrf_of(page.text), "session_id": str(school["b"][0]),
            "credit_id": str(school["credit"])}  # fmt: skip
    done = client.post(f"/students/{world.student_1}/makeup/join", data=form,
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    assert done.headers["location"] == f"/sessions/{school['b'][0]}?done=makeup-join"
    lesson = client.get(done.headers["location"])
    assert 'id="done"' in lesson.text
    assert 'id="makeup-for"' in lesson.text
    again = client.post(f"/students/{world.student_1}/makeup/join",
                        data=form | {"session_id": str(school["b"][1])})  # fmt: skip
    assert again.status_code == 422
    assert 'id="join-error"' in again.text
    assert _balance(client, world, world.student_1) == 0
