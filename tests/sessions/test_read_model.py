"""The one lesson read model: staff of branch A never learn another branch's lesson.

A clash partner is planted at branch B: Sato teaches Hanako there (a lesson titled "Osaka
Secret Prep", with a distinctive id) half an hour into the lesson of A's weekly series,
booked later, so it names A's lesson in its `conflicts_with`. Every path that shows A's
lesson, or a preview or an answer that names B's, is read as A's staff: none may show B's
student, title or id; the clash itself is shown by its times and what it shares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text

from komawari.audit.service import Actor
from komawari.auth.enums import Role
from komawari.db.engine import session_scope
from komawari.people import service as people
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from tests.factories import bookings
from tests.factories.world import World, bearer, next_weekday, one_off_body, series_body
from tests.web.pages import csrf_of, make_user, sign_in

DAY = next_weekday(4)  # a Thursday of A's series (Thursdays 20:00-21:30)
SETUP = Actor("test", "setup")
STUDENT, TITLE = "Kuroda Hanako", "Osaka Secret Prep"
HIDDEN_ID = 777_001  # B's lesson's id: a number no other text on a page contains


@dataclass(frozen=True)
class Planted:
    series: int  # A's series (Sato with Aoi, Thursdays 20:00-21:30)
    lesson: int  # its lesson on DAY
    hidden: int  # B's lesson on DAY, 21:00-22:00, booked later: it names `lesson`
    student: int  # B's lesson's student


@pytest.fixture
def planted(client: TestClient, world: World, committed_engine: Engine) -> Planted:
    made = client.post("/api/class-series", json=series_body(world), headers=bearer(world.admin))
    assert made.status_code == 201, made.text
    series = int(made.json()["id"])
    with session_scope(committed_engine) as s:
        lesson = s.scalar(
            select(ClassSession.id).where(
                ClassSession.series_id == series, ClassSession.date == DAY
            )
        )
        assert lesson is not None
        student = people.create_student(s, name=STUDENT, actor=SETUP).id
        s.execute(
            text("SELECT setval(pg_get_serial_sequence('class_sessions', 'id'), :n)"),
            {"n": HIDDEN_ID - 1},
        )
        hidden = bookings.one_off(
            s, branch_id=world.branch_b, teacher_id=world.teacher_1, student_id=student,
            room_id=world.room_b, title=TITLE, date=DAY, start_time="21:00", end_time="22:00",
        ).id  # fmt: skip
    assert hidden == HIDDEN_ID
    with session_scope(committed_engine) as s:
        row = s.get_one(ClassSession, hidden)
        assert (row.status, row.conflicts_with) == (SessionStatus.CONFLICTED, [lesson])
    return Planted(series, lesson, hidden, student)


@pytest.fixture
def office(client: TestClient, world: World, committed_engine: Engine) -> TestClient:
    """The client, signed in to the pages as staff of branch A only."""
    make_user(committed_engine, "clerk", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "clerk") == 303
    return client


def assert_no_leak(answer: str, where: str, *, student: bool = True) -> None:
    """Assert an answer names nothing of B's lesson: its student, title or id.

    `student=False`: the answer may name B's student for another reason (the caller typed
    that student in the form it shows again, or it is the caller's own lesson with them).
    """
    for secret in (STUDENT, TITLE, str(HIDDEN_ID))[0 if student else 1 :]:
        assert secret not in answer, f"{where} shows {secret!r}"


def _hidden_ref(ref: dict[str, Any]) -> None:
    """Assert a ConflictRef is B's lesson as the read model redacts it."""
    assert ref["hidden"] is True
    assert (ref["start_time"], ref["end_time"], ref["shared"]) == ("21:00", "22:00", ["teacher"])
    for name in ("session_id", "branch_id", "teacher_id", "teacher_name", "student_id"):
        assert ref[name] is None, name
    assert ref["student_name"] is ref["title"] is ref["room_id"] is ref["status"] is None


def _li(html: str, list_id: str) -> list[str]:
    """Return the items of the list (or of the section's list) with id `list_id`."""
    found = re.search(rf'<(ul|section) id="{list_id}">(.*?)</\1>', html, flags=re.S)
    assert found is not None, f"no list {list_id}"
    return re.findall(r"<li>(.*?)</li>", found.group(2), flags=re.S)


# The API's reads.


def test_the_apis_reads_show_the_partner_redacted(
    client: TestClient, world: World, planted: Planted
) -> None:
    token = bearer(world.staff_a)
    one = client.get(f"/api/class-sessions/{planted.lesson}", headers=token)
    assert one.status_code == 200, one.text
    (ref,) = one.json()["clashed_by"]
    _hidden_ref(ref)
    assert_no_leak(one.text, "the session read")
    for query in (
        {"date": str(DAY)},
        {"from": str(DAY - timedelta(days=3)), "to": str(DAY + timedelta(days=3))},
        {"student_id": str(planted.student)},
        {"status": "CONFLICTED"},
    ):
        listed = client.get("/api/class-sessions", params=query, headers=token)
        assert listed.status_code == 200, listed.text
        assert planted.hidden not in [item["id"] for item in listed.json()["items"]]
        assert_no_leak(listed.text, f"the list {query}")
    day = client.get(
        f"/api/branches/{world.branch_a}/schedule", params={"date": str(DAY)}, headers=token
    )
    assert day.status_code == 200, day.text
    entries = {e["id"]: e for t in day.json()["teachers"] for e in t["sessions"]}
    (ref,) = entries[planted.lesson]["clashed_by"]
    _hidden_ref(ref)
    assert_no_leak(day.text, "the day's schedule")
    # The partner is real: an admin reads it whole.
    whole = client.get(f"/api/class-sessions/{planted.lesson}", headers=bearer(world.admin))
    assert [(r["session_id"], r["student_name"]) for r in whole.json()["clashed_by"]] == [
        (HIDDEN_ID, STUDENT)
    ]


# The pages.


def _block(html: str, session_id: int) -> str:
    start = html.index(f'id="lesson-{session_id}"')
    return html[start : html.index("</article>", start)]


def test_the_day_page_shows_a_later_clash_at_another_branch(
    office: TestClient, world: World, planted: Planted
) -> None:
    """The earlier-booked lesson shows every later booking that names it, whichever branch
    that is at; the day page used to look only among the lessons on the page."""
    page = office.get(f"/branches/{world.branch_a}/day", params={"date": str(DAY)})
    assert page.status_code == 200
    block = _block(page.text, planted.lesson)
    assert "Booked first; clashes" in block
    assert "Later booking clashes: 21:00\u201322:00 (a lesson you cannot see)" in block
    assert "(teacher)" in block
    assert_no_leak(page.text, "the day page")


def test_the_week_and_lesson_pages_show_the_partner_redacted(
    office: TestClient, world: World, planted: Planted
) -> None:
    for path in (
        f"/teachers/{world.teacher_1}/week?date={DAY}",
        f"/students/{world.student_1}/week?date={DAY}",
    ):
        page = office.get(path)
        assert page.status_code == 200, path
        assert_no_leak(page.text, path)
    lesson = office.get(f"/sessions/{planted.lesson}")
    assert lesson.status_code == 200
    (item,) = _li(lesson.text, "clashes")
    assert "Later booking clashes: 21:00\u201322:00 (a lesson you cannot see)" in item
    assert "(teacher)" in item
    assert_no_leak(lesson.text, "the lesson page")


# The series previews.


PREVIEWS = {
    "end": {"last_date": str(DAY - timedelta(days=1))},
    "pause": {"cancel_future": "1", "reason": "break"},
    "change-from": {"from_date": str(DAY - timedelta(days=1)), "start_time": "16:00"},
}


@pytest.mark.parametrize(("action", "params"), PREVIEWS.items())
def test_each_series_preview_shows_the_clash_that_clears_redacted(
    office: TestClient, planted: Planted, action: str, params: dict[str, str]
) -> None:
    page = office.get(f"/series/{planted.series}/{action}", params=params)
    assert page.status_code == 200, page.text
    assert_no_leak(page.text, f"the {action} preview")
    (cleared,) = _li(page.text, "clashes-clear")
    assert "21:00\u201322:00 (a lesson you cannot see)" in cleared
    assert "(teacher)" in cleared


def test_a_preview_shows_an_admin_the_partner_whole(
    client: TestClient, world: World, committed_engine: Engine, planted: Planted
) -> None:
    make_user(committed_engine, "head", Role.ADMIN)
    assert sign_in(client, "head") == 303
    page = client.get(
        f"/series/{planted.series}/end", params={"last_date": str(DAY - timedelta(days=1))}
    )
    (cleared,) = _li(page.text, "clashes-clear")
    assert TITLE not in cleared  # a private lesson is named by its student
    assert STUDENT in cleared


# The answers to a duplicate: a booking and a move.


def test_a_duplicate_booking_of_another_branchs_slot_is_not_named(
    office: TestClient, world: World, planted: Planted
) -> None:
    slot = {"teacher_id": world.teacher_1, "student_id": planted.student, "date": str(DAY),
            "start_time": "21:00", "end_time": "22:00"}  # fmt: skip
    api = office.post(
        "/api/class-sessions", json=one_off_body(world, **slot), headers=bearer(world.staff_a)
    )
    assert api.status_code == 409
    assert api.json()["existing_session_id"] is None
    assert_no_leak(api.text, "the API's 409")
    form = {"csrf_token": csrf_of(office.get("/sessions/new").text),
            "branch_id": world.branch_a, **slot}  # fmt: skip
    page = office.post("/sessions", data=form, follow_redirects=False)
    assert page.status_code == 409
    duplicate = re.search(r'<p class="problem" role="alert" id="duplicate">(.*?)</p>', page.text)
    assert duplicate is not None
    assert_no_leak(duplicate.group(1), "the booking page's 409")
    assert_no_leak(page.text, "the booking page's 409", student=False)
    assert "a lesson you cannot see (another branch)" in duplicate.group(1)
    assert "/sessions/" not in duplicate.group(1)


def _lesson_with(client: TestClient, w: World, student: int) -> int:
    """Book A's own lesson of Sato with `student` on DAY, 16:00-17:00; return its id."""
    made = client.post(
        "/api/class-sessions",
        json=one_off_body(w, student_id=student, date=str(DAY), start_time="16:00",
                          end_time="17:00"),
        headers=bearer(w.staff_a),
    )  # fmt: skip
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


ONTO = {"start_time": "21:00", "end_time": "22:00"}  # B's lesson's slot


def test_the_apis_move_onto_another_branchs_slot_is_not_named(
    client: TestClient, world: World, planted: Planted
) -> None:
    moved = f"/api/class-sessions/{_lesson_with(client, world, planted.student)}/move"
    api = client.post(moved, json=ONTO, headers=bearer(world.staff_a))
    assert api.status_code == 409
    assert_no_leak(api.text, "the API's 409 of a move")
    assert api.json()["existing_session_id"] is None
    as_admin = client.post(moved, json=ONTO, headers=bearer(world.admin))
    assert as_admin.json()["existing_session_id"] == HIDDEN_ID


def test_the_pages_move_onto_another_branchs_slot_is_not_named(
    office: TestClient, world: World, planted: Planted
) -> None:
    lesson = f"/sessions/{_lesson_with(office, world, planted.student)}"
    form = {"csrf_token": csrf_of(office.get(lesson).text), **ONTO}
    page = office.post(f"{lesson}/move", data=form, follow_redirects=False)
    assert page.status_code == 409
    assert_no_leak(page.text, "the lesson page's 409 of a move", student=False)
    assert "a lesson at another branch already holds that slot" in page.text


def test_a_duplicate_the_caller_may_read_is_still_named_with_a_link(
    office: TestClient, world: World, planted: Planted
) -> None:
    slot = {"student_id": world.student_1, "date": str(DAY), "start_time": "20:00",
            "end_time": "21:30"}  # fmt: skip
    api = office.post(
        "/api/class-sessions", json=one_off_body(world, **slot), headers=bearer(world.staff_a)
    )
    assert (api.status_code, api.json()["existing_session_id"]) == (409, planted.lesson)
    form = {"csrf_token": csrf_of(office.get("/sessions/new").text),
            "branch_id": world.branch_a, "teacher_id": world.teacher_1, **slot}  # fmt: skip
    page = office.post("/sessions", data=form, follow_redirects=False)
    assert page.status_code == 409
    assert f'href="/sessions/{planted.lesson}"' in page.text


# The audit of a cancel that cleared B's clash.


def test_the_audit_of_a_cancel_does_not_name_the_lesson_it_re_evaluated(
    office: TestClient, world: World, planted: Planted, committed_engine: Engine
) -> None:
    lesson = f"/sessions/{planted.lesson}"
    done = office.post(
        f"{lesson}/cancel",
        data={"csrf_token": csrf_of(office.get(lesson).text), "reason": "teacher ill"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with session_scope(committed_engine) as s:
        assert s.get_one(ClassSession, planted.hidden).status == SessionStatus.CONFIRMED
    events = office.get(
        "/api/audit/events", params={"action": "session.cancel"}, headers=bearer(world.staff_a)
    )
    assert events.status_code == 200, events.text
    (event,) = events.json()["items"]
    assert event["subject_id"] == planted.lesson
    assert event["details"]["re_evaluated"] == {}
    assert event["details"]["re_evaluated_hidden"] == 1
    assert_no_leak(events.text, "the audit API")
    page = office.get(done.headers["location"])
    assert page.status_code == 200
    assert "The lesson is cancelled." in page.text
    assert_no_leak(page.text, "the cancelled lesson's page")
    # An admin reads the event whole.
    whole = office.get(
        "/api/audit/events", params={"action": "session.cancel"}, headers=bearer(world.admin)
    )
    assert whole.json()["items"][0]["details"]["re_evaluated"] == {str(HIDDEN_ID): "CONFIRMED"}


# The read model itself: one window, whatever the page's.


def test_clashed_by_finds_every_partner_whatever_day_is_asked(
    world: World, planted: Planted, committed_engine: Engine
) -> None:
    from komawari.sessions import queries, read_model

    with session_scope(committed_engine) as s:
        assert read_model.clashed_by_ids(s, [planted.lesson]) == {planted.lesson: [HIDDEN_ID]}
        far = (date(2000, 1, 1), date(2000, 1, 1))  # a caller's window, now ignored
        (ref,) = queries.clashed_by(s, [planted.lesson], between=far)[planted.lesson]
        assert ref["session_id"] == HIDDEN_ID


def test_a_clash_on_the_day_page_names_the_student_not_the_teacher_the_column_names(
    client: TestClient, world: World, committed_engine: Engine, planted: Planted
) -> None:
    """In the teacher's own column the partner's teacher is that teacher: the narrow block
    names the partner's student instead (it once read "20:00-21:30 Sato ·", clipped)."""
    make_user(committed_engine, "owner", Role.ADMIN)
    assert sign_in(client, "owner") == 303
    page = client.get(f"/branches/{world.branch_b}/day", params={"date": str(DAY)})
    assert page.status_code == 200
    (item,) = re.findall(r"<li>(Clashes with.*?)</li>", _block(page.text, planted.hidden), re.S)
    text_only = re.sub(r"<[^>]+>", "", item)
    assert "20:00\u201321:30 Aoi (another branch)" in text_only
    assert "Sato" not in text_only
