"""The make-up (振替) slot finder through the API: only times where a teacher of the
branch, a room and the student are all free, on open days, before the credit's end;
ranked the absent lesson's own teacher first, then the student's usual times; booking one
uses the credit."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from komawari.audit.service import Actor
from komawari.auth import service as auth
from komawari.auth.enums import Role
from komawari.db.engine import session_scope
from tests.attendance.conftest import _book, _post
from tests.factories.world import World, bearer, next_weekday, one_off_body


def _slots(client: TestClient, world: World, token: str | None = None, **params: Any) -> Any:
    answer = client.get(
        f"/api/students/{world.student_1}/makeup-slots",
        headers=bearer(token or world.staff_a),
        params={"weeks": 4, "limit": 100, **params},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _at(found: Any, day: date, start: str) -> list[dict[str, Any]]:
    return [
        s for s in found["slots"] if s["date"] == day.isoformat() and s["start_time"][:5] == start
    ]


def test_slots_are_the_periods_with_the_absent_lessons_teacher_first(
    client: TestClient, world: World, credit: dict[str, Any]
) -> None:
    found = _slots(client, world)
    assert found["credit_id"] == credit["id"]
    assert found["absence_session_id"] == credit["absence"]["id"]
    slots = found["slots"]
    assert slots, "a free week at a branch with three periods has slots"
    assert {s["start_time"][:5] for s in slots} <= {"16:00", "17:00", "18:00"}
    assert all(s["end_time"][:5] == f"{int(s['start_time'][:2]) + 1}:00" for s in slots), (
        "the absent lesson's length"
    )
    assert all(s["teacher_id"] == world.teacher_1 and s["same_teacher"] for s in slots)
    assert all(s["room_id"] == world.room_a for s in slots)
    absent_day = date.fromisoformat(credit["absence"]["date"])
    assert not _at(found, absent_day, "18:00"), "the student's own lesson holds that time"
    assert _at(found, absent_day, "17:00"), "the period before it touches it: free"
    last = date.today() + timedelta(days=4 * 7 + 1)
    assert max(date.fromisoformat(s["date"]) for s in slots) <= last


def test_a_busy_teacher_gives_the_slot_to_another_teacher_of_the_branch(
    client: TestClient, world: World, credit: dict[str, Any]
) -> None:
    day = next_weekday(1)  # a Monday
    _book(client, world, date=day.isoformat(), student_id=world.student_2, start_time="16:30",
          end_time="17:30")  # fmt: skip
    found = _slots(client, world)
    for start in ("16:00", "17:00"):
        (slot,) = _at(found, day, start)
        assert slot["teacher_id"] == world.teacher_2
        assert not slot["same_teacher"]
    (free,) = _at(found, day, "18:00")
    assert free["teacher_id"] == world.teacher_1, "touching at 17:30? no: 18:00 is free"
    positions = [s["date"] + s["start_time"] for s in found["slots"]]
    own_last = max(i for i, s in enumerate(found["slots"]) if s["same_teacher"])
    other_first = min(i for i, s in enumerate(found["slots"]) if not s["same_teacher"])
    assert own_last < other_first, f"the absent lesson's teacher first: {positions}"


def test_the_students_other_lessons_at_any_branch_and_their_groups_hold_their_times(
    client: TestClient, world: World, credit: dict[str, Any]
) -> None:
    tuesday, thursday = next_weekday(2), next_weekday(4)
    _book(client, world, branch_id=world.branch_b, date=tuesday.isoformat(), start_time="17:00",
          end_time="18:00", teacher_id=world.teacher_2, room_id=world.room_b)  # fmt: skip
    group = one_off_body(world, date=thursday.isoformat(), start_time="16:00", end_time="17:00")
    group |= {"kind": "GROUP", "title": "英会話", "student_ids": [world.student_1]}
    group.pop("student_id")
    group["teacher_id"] = world.teacher_2
    group["branch_id"] = world.branch_b
    group["room_id"] = world.room_b
    _post(client, world, "/api/class-sessions", group)
    found = _slots(client, world)
    assert not _at(found, tuesday, "17:00"), "a lesson at another branch"
    assert _at(found, tuesday, "16:00")
    assert _at(found, tuesday, "18:00")
    assert not _at(found, thursday, "16:00"), "a group the student attends"
    assert _at(found, thursday, "17:00")


def test_a_busy_room_closes_the_slot_and_a_touching_lesson_does_not(
    client: TestClient, world: World, credit: dict[str, Any]
) -> None:
    day = next_weekday(5)  # a Friday
    _book(client, world, date=day.isoformat(), teacher_id=world.teacher_2,
          student_id=world.student_3, room_id=world.room_a, start_time="15:00",
          end_time="16:00")  # fmt: skip
    _book(client, world, date=day.isoformat(), teacher_id=world.teacher_2,
          student_id=world.student_2, room_id=world.room_a, start_time="17:30",
          end_time="18:00")  # fmt: skip
    found = _slots(client, world)
    assert _at(found, day, "16:00"), "the room's lesson ends as the slot starts"
    assert not _at(found, day, "17:00"), "the only room is taken at 17:30"


def test_a_closed_day_and_days_after_the_credits_end_have_no_slots(
    client: TestClient, world: World, credit: dict[str, Any]
) -> None:
    day = next_weekday(6)
    _post(client, world, f"/api/branches/{world.branch_a}/closures", {"date": day.isoformat()})
    found = _slots(client, world, weeks=12)
    assert not [s for s in found["slots"] if s["date"] == day.isoformat()]
    assert _at(found, day + timedelta(days=1), "16:00"), "the next day is open"
    assert max(s["date"] for s in found["slots"]) <= found["expires_on"]


def test_the_students_usual_times_rank_first_among_the_same_teachers(
    client: TestClient, world: World, credit: dict[str, Any]
) -> None:
    friday = next_weekday(5, weeks=2)
    _book(client, world, date=friday.isoformat(), start_time="17:00", end_time="18:00")
    found = _slots(client, world)
    first = found["slots"][0]
    assert first["usual_time"]
    assert date.fromisoformat(first["date"]).isoweekday() == 5
    assert first["start_time"][:5] == "17:00"
    flags = [(s["same_teacher"], s["usual_time"], s["usual_day"]) for s in found["slots"]]
    assert flags == sorted(flags, reverse=True), "own teacher, usual time, usual day"
    days = [s["date"] + s["start_time"] for s in found["slots"] if s["usual_time"]]
    assert days == sorted(days), "then the earliest"


def test_booking_a_slot_uses_the_credit_and_the_finder_then_has_none(
    client: TestClient, world: World, credit: dict[str, Any]
) -> None:
    slot = _slots(client, world)["slots"][0]
    body = one_off_body(world, **{k: slot[k] for k in ("date", "start_time", "end_time",
                                                      "teacher_id", "room_id")})  # fmt: skip
    made = _post(client, world, "/api/class-sessions", body | {"credit_id": credit["id"]})
    assert made["status"] == "CONFIRMED"
    after = _slots(client, world)
    assert after["credit_id"] is None
    assert after["slots"] == []
    refused = client.get(
        f"/api/students/{world.student_1}/makeup-slots",
        headers=bearer(world.staff_a),
        params={"credit_id": credit["id"]},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["code"] == "makeup.credit-not-usable"


def test_another_branchs_staff_do_not_see_the_credit_and_bad_weeks_are_refused(
    client: TestClient, world: World, credit: dict[str, Any], committed_engine: Engine
) -> None:
    with session_scope(committed_engine) as s:
        user, _ = auth.ensure_user(
            s, username="staff-b", role=Role.STAFF, branch_ids=[world.branch_b],
            teacher_id=None, actor=Actor("test", "setup"),
        )  # fmt: skip
        token = auth.create_token(s, user=user, name="test", actor=Actor("test", "setup"))[1]
    other = _slots(client, world, token=token)
    assert other["credit_id"] is None, "a credit earned at branch A is not branch B's"
    assert _slots(client, world, token=world.admin)["credit_id"] == credit["id"]
    for weeks in (0, 13):
        bad = client.get(
            f"/api/students/{world.student_1}/makeup-slots",
            headers=bearer(world.staff_a),
            params={"weeks": weeks},
        )
        assert bad.status_code == 422, weeks
        assert "weeks" in bad.text
