"""A lesson's actions in place: restore a cancelled lesson, a substitute teacher, another
room, and who is free for it; through the API as each role, and through the lesson page.

Branch A (Shibuya, room A1) and B (Osaka, room B1); Sato and Suzuki teach. The lesson
under test is a one-off at A on DAY, 18:00-19:00, Sato with Aoi in A1.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from komawari.audit.models import AuditEvent
from komawari.audit.service import Actor
from komawari.auth.enums import Role
from komawari.branches import service as branches
from komawari.db.engine import session_scope
from komawari.people import service as people
from komawari.people import status as people_status
from komawari.sessions import service as sessions_service
from komawari.sessions.models import ClassSession
from tests.factories.race import race
from tests.factories.world import SETUP, World, bearer, next_weekday, one_off_body
from tests.web.pages import csrf_of, make_user, sign_in

DAY = next_weekday(3)  # a Wednesday
API = "/api/class-sessions"


def book(client: TestClient, world: World, token: str | None = None, **changes: Any) -> int:
    body = one_off_body(world, date=DAY.isoformat(), room_id=world.room_a) | changes
    made = client.post(API, json=body, headers=bearer(token or world.admin))
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def cancel(client: TestClient, world: World, sid: int) -> None:
    done = client.post(f"{API}/{sid}/cancel", json={"reason": "ill"}, headers=bearer(world.admin))
    assert done.status_code == 200, done.text


def audit_count(engine: Engine, action: str) -> int:
    with session_scope(engine) as s:
        return int(s.scalar(select(func.count()).where(AuditEvent.action == action)) or 0)


def row(engine: Engine, sid: int) -> ClassSession:
    with session_scope(engine) as s:
        found = s.get_one(ClassSession, sid)
        s.expunge(found)
        return found


# Restore.


def test_a_restored_lesson_is_back_confirmed_and_audited(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    sid = book(client, world)
    cancel(client, world, sid)
    back = client.post(f"{API}/{sid}/restore", json={"reason": "she came after all"},
                       headers=bearer(world.staff_a))  # fmt: skip
    assert back.status_code == 200, back.text
    assert (back.json()["status"], back.json()["cancel_reason"]) == ("CONFIRMED", None)
    with session_scope(committed_engine) as s:
        (event,) = s.scalars(select(AuditEvent).where(AuditEvent.action == "session.restore"))
        assert (event.subject_id, event.reason) == (sid, "she came after all")
        assert event.details["cancel_reason"] == "ill"
        assert event.actor.startswith("user:staff-a")


def test_a_restored_lesson_is_the_later_booking_of_its_time(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    """A lesson booked into the freed time keeps its place; the restored one clashes."""
    first = book(client, world)
    cancel(client, world, first)
    meanwhile = book(client, world, student_id=world.student_2, room_id=None)
    back = client.post(f"{API}/{first}/restore", headers=bearer(world.admin))
    assert back.status_code == 200, back.text
    assert back.json()["status"] == "CONFLICTED"
    assert [r["session_id"] for r in back.json()["conflicts_with"]] == [meanwhile]
    assert row(committed_engine, meanwhile).status.value == "CONFIRMED"


@pytest.mark.parametrize("why", ["live", "closed", "same-lesson", "teacher-gone"])
def test_a_refused_restore_names_why_and_changes_nothing(
    client: TestClient, world: World, committed_engine: Engine, why: str
) -> None:
    sid = book(client, world)
    if why != "live":
        cancel(client, world, sid)
    if why == "closed":
        with session_scope(committed_engine) as s:
            branches.add_closure(s, world.branch_a, DAY, reason="typhoon", actor=SETUP)
    if why == "same-lesson":
        again = book(client, world)
    if why == "teacher-gone":
        with session_scope(committed_engine) as s:
            people_status.deactivate(s, "teacher", world.teacher_1, actor=SETUP)
    before = (audit_count(committed_engine, "session.restore"), row(committed_engine, sid).status)
    answer = client.post(f"{API}/{sid}/restore", headers=bearer(world.admin))
    expected = {"live": (422, "status"), "closed": (422, "date"), "same-lesson": (409, None),
                "teacher-gone": (422, "teacher_id")}[why]  # fmt: skip
    assert answer.status_code == expected[0], answer.text
    if expected[1]:
        assert expected[1] in answer.text
    if why == "same-lesson":
        assert answer.json()["existing_session_id"] == again
    if why == "closed":
        assert "typhoon" in answer.text
    after = (audit_count(committed_engine, "session.restore"), row(committed_engine, sid).status)
    assert after == before


def test_restore_as_each_role(client: TestClient, world: World) -> None:
    mine = book(client, world)
    cancel(client, world, mine)
    theirs = book(client, world, branch_id=world.branch_b, room_id=world.room_b,
                  student_id=world.student_2)  # fmt: skip
    cancel(client, world, theirs)
    # Staff of another branch: B's lesson is not there for them.
    assert client.post(f"{API}/{theirs}/restore", headers=bearer(world.staff_a)).status_code == 404
    # A teacher reads their own lesson but changes nothing.
    assert client.post(f"{API}/{mine}/restore", headers=bearer(world.teacher)).status_code == 403
    assert client.post(f"{API}/{theirs}/restore", headers=bearer(world.admin)).status_code == 200
    assert client.post(f"{API}/{mine}/restore", headers=bearer(world.staff_a)).status_code == 200


def test_two_staff_restoring_at_once_make_one_change(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    """Two transactions on their own connections restore the same lesson at once: one
    brings it back and is audited; the other is told it is not cancelled."""
    sid = book(client, world)
    cancel(client, world, sid)
    outcomes = race(
        committed_engine,
        ["kato", "ito"],
        lambda s, who: sessions_service.restore(s, sid, actor=Actor("user", who)),
    )
    assert outcomes == ["done", "status"]
    assert audit_count(committed_engine, "session.restore") == 1
    assert row(committed_engine, sid).status.value == "CONFIRMED"


# A substitute, another room.


def test_a_substitute_takes_the_lesson_and_the_lesson_names_its_own_teacher(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    sid = book(client, world)
    sub = client.post(f"{API}/{sid}/move", json={"teacher_id": world.teacher_2},
                      headers=bearer(world.staff_a))  # fmt: skip
    assert sub.status_code == 200, sub.text
    assert (sub.json()["teacher_id"], sub.json()["substitute_for_id"]) == (
        world.teacher_2,
        world.teacher_1,
    )
    with session_scope(committed_engine) as s:
        third = people.create_teacher(s, name="Kimura", actor=SETUP).id
    # A second substitute still stands in for the lesson's own teacher.
    again = client.post(f"{API}/{sid}/move", json={"teacher_id": third},
                        headers=bearer(world.admin))  # fmt: skip
    assert (again.json()["teacher_id"], again.json()["substitute_for_id"]) == (
        third,
        world.teacher_1,
    )
    back = client.post(f"{API}/{sid}/move", json={"teacher_id": world.teacher_1},
                       headers=bearer(world.admin))  # fmt: skip
    assert (back.json()["teacher_id"], back.json()["substitute_for_id"]) == (world.teacher_1, None)
    assert audit_count(committed_engine, "session.move") == 3


def test_a_substitute_of_a_series_lesson_leaves_the_series_its_teacher(
    client: TestClient, world: World
) -> None:
    body = {
        "branch_id": world.branch_a, "teacher_id": world.teacher_1, "student_id": world.student_1,
        "weekdays": [3], "start_time": "16:00", "end_time": "17:00",
        "first_date": (DAY - timedelta(days=7)).isoformat(),
    }  # fmt: skip
    series = client.post("/api/class-series", json=body, headers=bearer(world.admin)).json()
    lessons = client.get(API, params={"date": DAY.isoformat()}, headers=bearer(world.admin))
    (lesson,) = [x for x in lessons.json()["items"] if x["series_id"] == series["id"]]
    sub = client.post(f"{API}/{lesson['id']}/move", json={"teacher_id": world.teacher_2},
                      headers=bearer(world.admin))  # fmt: skip
    assert sub.status_code == 200, sub.text
    again = client.get(f"/api/class-series/{series['id']}", headers=bearer(world.admin))
    assert again.json()["teacher_id"] == world.teacher_1
    week_later = client.get(API, params={"date": (DAY + timedelta(days=7)).isoformat()},
                            headers=bearer(world.admin)).json()["items"]  # fmt: skip
    assert {x["teacher_id"] for x in week_later if x["series_id"] == series["id"]} == {
        world.teacher_1
    }


def test_a_substitute_who_is_busy_makes_the_lesson_a_clash(
    client: TestClient, world: World
) -> None:
    busy = book(client, world, teacher_id=world.teacher_2, student_id=world.student_2,
                room_id=None, start_time="18:30", end_time="19:30")  # fmt: skip
    sid = book(client, world)
    sub = client.post(f"{API}/{sid}/move", json={"teacher_id": world.teacher_2},
                      headers=bearer(world.admin))  # fmt: skip
    assert sub.json()["status"] == "CONFLICTED"
    assert [r["session_id"] for r in sub.json()["conflicts_with"]] == [busy]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"teacher_id": 99_999}, "teacher_id", "99999"),
        ({"room_id": "room_b"}, "room_id", "B1 at Osaka is not a room of Shibuya"),
        ({"room_id": 99_999}, "room_id", "room 99999 does not exist"),
    ],
)
def test_a_wrong_teacher_or_room_is_refused_by_name(
    client: TestClient, world: World, committed_engine: Engine, body: dict[str, Any],
    field: str, words: str,
) -> None:  # fmt: skip
    sid = book(client, world)
    if body.get("room_id") == "room_b":
        body = {"room_id": world.room_b}
    answer = client.post(f"{API}/{sid}/move", json=body, headers=bearer(world.admin))
    assert answer.status_code == 422, answer.text
    assert field in answer.text
    assert words in answer.text
    found = row(committed_engine, sid)
    assert (found.teacher_id, found.room_id, found.substitute_for_id) == (
        world.teacher_1,
        world.room_a,
        None,
    )


def test_a_deactivated_teacher_cannot_substitute(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    sid = book(client, world)
    with session_scope(committed_engine) as s:
        people_status.deactivate(s, "teacher", world.teacher_2, actor=SETUP)
    answer = client.post(f"{API}/{sid}/move", json={"teacher_id": world.teacher_2},
                         headers=bearer(world.admin))  # fmt: skip
    assert answer.status_code == 422
    assert "teacher_id" in answer.text
    assert row(committed_engine, sid).teacher_id == world.teacher_1


# Who and what is free.


@pytest.fixture
def crowd(client: TestClient, world: World, committed_engine: Engine) -> dict[str, int]:
    """Around the lesson (A, DAY 18:00-19:00, Sato, Aoi, A1):
    - Suzuki teaches at B 18:30-19:30 (busy, at another branch);
    - Kimura taught Aoi last week at B (free, taught the student);
    - Mori teaches at A 19:00-20:00 that day (free: touching is not overlapping; same
      branch; one lesson that day);
    - Noda teaches at A 17:30-18:30 (busy);
    - Abe has never taught (free, last, though first by name);
    - Ueda is deactivated (never offered).
    Kimura also had a lesson at 18:30 in A3, cancelled: it makes neither busy.
    Rooms of A: A1 (its own), A2 busy 17:30-18:30, A3 free from 19:00, A4 inactive."""
    with session_scope(committed_engine) as s:
        made = {
            name: people.create_teacher(s, name=name, actor=SETUP).id
            for name in ("Kimura", "Mori", "Noda", "Abe", "Ueda")
        }
        people_status.deactivate(s, "teacher", made["Ueda"], actor=SETUP)
        for name in ("A2", "A3", "A4"):
            made[name] = people.create_room(
                s, branch_id=world.branch_a, name=name, capacity=2, actor=SETUP
            ).id
        people_status.deactivate(s, "room", made["A4"], actor=SETUP)
    made["lesson"] = book(client, world)
    made["busy"] = book(client, world, branch_id=world.branch_b, teacher_id=world.teacher_2,
                        student_id=world.student_3, room_id=world.room_b,
                        start_time="18:30", end_time="19:30")  # fmt: skip
    book(client, world, branch_id=world.branch_b, teacher_id=made["Kimura"], room_id=None,
         date=(DAY - timedelta(days=7)).isoformat())  # fmt: skip
    book(client, world, teacher_id=made["Mori"], student_id=world.student_2, room_id=made["A3"],
         start_time="19:00", end_time="20:00")  # fmt: skip
    book(client, world, teacher_id=made["Noda"], student_id=world.student_3, room_id=made["A2"],
         start_time="17:30", end_time="18:30")  # fmt: skip
    cancel(client, world, book(client, world, teacher_id=made["Kimura"], room_id=made["A3"],
                               student_id=world.student_3, start_time="18:30"))  # fmt: skip
    return made


def test_free_teachers_are_ranked_and_the_busy_listed_apart(
    client: TestClient, world: World, crowd: dict[str, int]
) -> None:
    answer = client.get(f"{API}/{crowd['lesson']}/free-teachers", headers=bearer(world.admin))
    assert answer.status_code == 200, answer.text
    free = answer.json()["free"]
    # Noda's 17:30-18:30 lesson overlaps: Noda is busy; a cancelled lesson never is.
    assert [t["name"] for t in free] == ["Kimura", "Mori", "Abe"]
    kimura, mori, abe = free
    assert (kimura["taught_student"], kimura["same_branch"]) == (1, False)
    assert kimura["lessons_that_day"] == 0
    assert (mori["same_branch"], mori["lessons_that_day"]) == (True, 1)
    assert (abe["taught_student"], abe["same_branch"], abe["lessons_that_day"]) == (0, False, 0)
    assert "taught this student before" in kimura["why"]
    busy = {t["name"]: t["busy_with"] for t in answer.json()["busy"]}
    assert sorted(busy) == ["Noda", "Suzuki"]
    (lesson,) = busy["Suzuki"]
    assert (lesson["session_id"], lesson["hidden"]) == (crowd["busy"], False)


def test_free_teachers_as_staff_hide_another_branchs_lesson(
    client: TestClient, world: World, crowd: dict[str, int]
) -> None:
    answer = client.get(f"{API}/{crowd['lesson']}/free-teachers", headers=bearer(world.staff_a))
    assert answer.status_code == 200, answer.text
    busy = {t["name"]: t["busy_with"] for t in answer.json()["busy"]}
    (lesson,) = busy["Suzuki"]
    assert lesson["hidden"] is True
    assert lesson["session_id"] is None
    assert (lesson["start_time"], lesson["end_time"]) == ("18:30", "19:30")
    named = [r["session_id"] for t in answer.json()["busy"] for r in t["busy_with"]]
    assert crowd["busy"] not in named
    # Kimura taught Aoi at B only, which staff of A do not read: no reason given.
    kimura = next(t for t in answer.json()["free"] if t["name"] == "Kimura")
    assert kimura["taught_student"] == 0


def test_free_rooms_are_the_branchs_active_rooms_free_for_the_whole_time(
    client: TestClient, world: World, crowd: dict[str, int]
) -> None:
    answer = client.get(f"{API}/{crowd['lesson']}/free-rooms", headers=bearer(world.staff_a))
    assert answer.status_code == 200, answer.text
    assert [r["name"] for r in answer.json()["items"]] == ["A3"]


def test_who_is_free_as_each_role(client: TestClient, world: World, crowd: dict[str, int]) -> None:
    for what in ("free-teachers", "free-rooms"):
        theirs = f"{API}/{crowd['busy']}/{what}"
        assert client.get(theirs, headers=bearer(world.staff_a)).status_code == 404
        assert client.get(theirs, headers=bearer(world.admin)).status_code == 200
        # A teacher reads their own lesson, but this is the office's tool.
        mine = f"{API}/{crowd['lesson']}/{what}"
        assert client.get(mine, headers=bearer(world.teacher)).status_code == 403


# The lesson page.


@pytest.fixture
def office(client: TestClient, world: World, committed_engine: Engine) -> TestClient:
    make_user(committed_engine, "clerk", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "clerk") == 303
    return client


def test_every_lesson_on_the_day_and_week_pages_opens_its_page(
    office: TestClient, world: World
) -> None:
    sid = book(office, world)
    theirs = book(office, world, branch_id=world.branch_b, room_id=world.room_b,
                  student_id=world.student_2, start_time="18:30")  # fmt: skip
    for path in (
        f"/branches/{world.branch_a}/day?date={DAY}",
        f"/teachers/{world.teacher_1}/week?date={DAY}",
        f"/students/{world.student_1}/week?date={DAY}",
    ):
        page = office.get(path)
        assert page.status_code == 200, path
        assert f'href="/sessions/{sid}"' in page.text, path
        assert f"/sessions/{theirs}" not in page.text, path


def test_a_substitute_and_a_restore_from_the_lesson_page(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    sid = book(office, world)
    page = office.get(f"/sessions/{sid}")
    assert page.status_code == 200
    assert "Suzuki teaches it" in page.text
    token = csrf_of(page.text)
    done = office.post(f"/sessions/{sid}/move", data={"csrf_token": token,
                       "teacher_id": str(world.teacher_2)}, follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    assert done.headers["location"] == f"/sessions/{sid}?done=substitute"
    shown = office.get(done.headers["location"]).text
    assert "substitute for Sato" in shown
    assert "Give it back to Sato" in shown
    gone = office.post(f"/sessions/{sid}/cancel", data={"csrf_token": token, "reason": "ill"},
                       follow_redirects=False)  # fmt: skip
    assert gone.status_code == 303
    cancelled = office.get(f"/sessions/{sid}").text
    assert 'id="restore-form"' in cancelled
    assert 'id="move-form"' not in cancelled
    back = office.post(f"/sessions/{sid}/restore", data={"csrf_token": token},
                       follow_redirects=False)  # fmt: skip
    assert back.status_code == 303
    assert "The lesson is back in the schedule." in office.get(back.headers["location"]).text
    assert row(committed_engine, sid).status.value == "CONFIRMED"


def test_a_refused_restore_on_the_page_says_why_and_changes_nothing(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    sid = book(office, world)
    cancel(office, world, sid)
    again = book(office, world)
    token = csrf_of(office.get(f"/sessions/{sid}").text)
    refused = office.post(f"/sessions/{sid}/restore", data={"csrf_token": token})
    assert refused.status_code == 409
    assert f"/sessions/{again}" in refused.text or str(again) in refused.text
    assert row(committed_engine, sid).status.value == "CANCELLED"
    assert audit_count(committed_engine, "session.restore") == 0


# A note.


def test_a_note_is_written_read_and_removed_and_audited(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    sid = book(client, world)
    url = f"{API}/{sid}/note"
    written = client.post(url, json={"note": "bring the mock exam"}, headers=bearer(world.staff_a))
    assert written.status_code == 200, written.text
    assert written.json()["note"] == "bring the mock exam"
    assert client.get(f"{API}/{sid}", headers=bearer(world.teacher)).json()["note"] == (
        "bring the mock exam"
    )
    assert client.post(url, json={"note": "x"}, headers=bearer(world.teacher)).status_code == 403
    theirs = book(client, world, branch_id=world.branch_b, room_id=world.room_b,
                  student_id=world.student_2)  # fmt: skip
    mine = client.post(f"{API}/{theirs}/note", json={"note": "x"}, headers=bearer(world.staff_a))
    assert mine.status_code == 404
    bad = client.post(url, json={"note": "a\u202eb"}, headers=bearer(world.admin))
    assert bad.status_code == 422
    assert row(committed_engine, sid).note == "bring the mock exam"
    gone = client.post(url, json={"note": "  "}, headers=bearer(world.admin))
    assert gone.json()["note"] is None
    assert audit_count(committed_engine, "session.note") == 2


def test_a_note_from_the_lesson_page(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    sid = book(office, world)
    page = office.get(f"/sessions/{sid}")
    done = office.post(f"/sessions/{sid}/note", data={"csrf_token": csrf_of(page.text),
                       "note": "説明会の資料"}, follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    assert "説明会の資料</textarea>" in office.get(f"/sessions/{sid}").text
    assert row(committed_engine, sid).note == "説明会の資料"
