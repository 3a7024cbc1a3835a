"""Taking the roll: a teacher from the phone (/me/today, one form per tap, no script), the
office on the lesson page (an absence notice before the lesson earns a credit) and a
branch's whole day in one form or one API request, all or nothing; a teacher only for
their own lessons, on the lesson's day and the next."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from komawari.attendance.models import AttendanceMark, CreditEntry
from komawari.audit.models import AuditEvent
from komawari.auth.enums import Role
from komawari.db.engine import session_scope
from komawari.scheduling import clock
from tests.factories import bookings
from tests.factories.world import World, bearer, book, next_weekday
from tests.web.pages import csrf_of, make_user, sign_in

ZONE = "Asia/Tokyo"  # the world's branches


def _today() -> date:
    return clock.branch_today(ZONE)


def _group(engine: Engine, world: World, day: date, *students: int, **changes: Any) -> int:
    return book(
        engine, world, day, "18:00", "19:00", kind="GROUP", student_id=None,
        student_ids=list(students), title="Conversation", **changes,
    )  # fmt: skip


def _teacher(client: TestClient, engine: Engine, world: World) -> None:
    make_user(engine, "sato", Role.TEACHER, teacher_id=world.teacher_1)
    assert sign_in(client, "sato") == 303


def _office(client: TestClient, engine: Engine, world: World) -> None:
    make_user(engine, "hana", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "hana") == 303


def _marks(engine: Engine, lesson: int) -> dict[int, str]:
    with session_scope(engine) as s:
        rows = s.scalars(select(AttendanceMark).where(AttendanceMark.session_id == lesson))
        return {m.student_id: m.state.value for m in rows}


def _written(engine: Engine) -> tuple[int, int, int]:
    """Marks, credit entries and audit events: what a refused roll must not add."""
    with session_scope(engine) as s:
        return (
            s.scalar(select(func.count()).select_from(AttendanceMark)) or 0,
            s.scalar(select(func.count()).select_from(CreditEntry)) or 0,
            s.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        )


def _tap(client: TestClient, lesson: int, student: int, state: str) -> Any:
    page = client.get("/me/today")
    return client.post(
        f"/me/today/{lesson}/mark",
        data={"csrf_token": csrf_of(page.text), "student_id": str(student), "state": state},
        follow_redirects=False,
    )


def _pressed(html: str, lesson: int, student: int) -> list[str]:
    """The states whose button is pressed for a student."""
    return re.findall(rf'id="mark-{lesson}-{student}-(\w+)" aria-pressed="true"', html)


# The teacher's phone.


def test_a_teacher_takes_the_roll_of_their_lessons_today_with_plain_forms(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    today = _today()
    group = _group(committed_engine, world, today, world.student_1, world.student_2)
    private = book(committed_engine, world, today, "16:00", "17:00", student_id=world.student_3)
    others = book(
        committed_engine, world, today, "16:00", "17:00", teacher_id=world.teacher_2,
        student_id=world.student_1,
    )  # fmt: skip
    tomorrow = book(committed_engine, world, today + timedelta(days=1), "16:00", "17:00")
    _teacher(client, committed_engine, world)
    page = client.get("/me/today")
    assert page.status_code == 200
    html = page.text
    assert 'id="today-link"' in html, "the teacher's navigation leads here"
    assert html.index(f'id="lesson-{private}"') < html.index(f'id="lesson-{group}"'), "time order"
    assert f'id="lesson-{others}"' not in html
    assert f'id="lesson-{tomorrow}"' not in html
    assert "<script" not in html.split("</head>")[1], "no script in the page's body"
    assert f'action="/me/today/{group}/mark"' in html
    assert f'id="all-present-{group}"' in html
    assert _pressed(html, group, world.student_1) == []
    assert html.count("Not marked yet") == 3

    answer = _tap(client, group, world.student_1, "late")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/me/today?done=mark&lesson={group}#lesson-{group}"
    assert _marks(committed_engine, group) == {world.student_1: "late"}
    after = client.get("/me/today").text
    assert _pressed(after, group, world.student_1) == ["late"]
    assert re.search(rf'id="now-{group}-{world.student_1}">Late<', after), "said in words"
    shown = client.get(f"/me/today?done=mark&lesson={group}").text
    assert shown.index('id="done"') > shown.index(f'id="lesson-{group}"'), "in the lesson tapped"


def test_all_present_marks_the_unmarked_and_keeps_an_absence(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    students = (world.student_1, world.student_2, world.student_3)
    group = _group(committed_engine, world, _today(), *students)
    _teacher(client, committed_engine, world)
    assert _tap(client, group, world.student_2, "absent").status_code == 303
    page = client.get("/me/today")
    answer = client.post(
        f"/me/today/{group}/all-present",
        data={"csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    location = f"/me/today?done=all-present&lesson={group}#lesson-{group}"
    assert answer.headers["location"] == location
    assert _marks(committed_engine, group) == {
        world.student_1: "present",
        world.student_2: "absent",
        world.student_3: "present",
    }
    again = client.post(
        f"/me/today/{group}/all-present",
        data={"csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert again.status_code == 303
    assert _marks(committed_engine, group)[world.student_2] == "absent"


def test_a_refused_tap_shows_the_page_again_with_the_reason_and_writes_nothing(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    lesson = book(committed_engine, world, _today(), "16:00", "17:00")
    with session_scope(committed_engine) as s:
        bookings.cancel(s, lesson)
    _teacher(client, committed_engine, world)
    page = client.get("/me/today").text
    assert f'id="lesson-{lesson}"' in page
    assert f'id="mark-{lesson}-' not in page
    before = _written(committed_engine)
    answer = _tap(client, lesson, world.student_1, "present")
    assert answer.status_code == 422
    assert "this lesson is cancelled" in answer.text
    assert 'role="alert"' in answer.text
    assert _written(committed_engine) == before


def test_a_teacher_may_not_mark_another_teachers_lesson_nor_after_the_next_day(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    today = _today()
    own = book(committed_engine, world, today, "16:00", "17:00")
    yesterday = book(committed_engine, world, today - timedelta(days=1), "16:00", "17:00")
    old = book(committed_engine, world, today - timedelta(days=2), "16:00", "17:00")
    other = book(
        committed_engine, world, today, "18:00", "19:00", teacher_id=world.teacher_2,
        student_id=world.student_2,
    )  # fmt: skip

    def mark(lesson: int, student: int = world.student_1) -> Any:
        return client.post(
            f"/api/class-sessions/{lesson}/attendance",
            headers=bearer(world.teacher),
            json={"marks": [{"student_id": student, "state": "present"}]},
        )

    assert mark(own).status_code == 200
    assert mark(yesterday).status_code == 200, "the day after the lesson is still open"
    before = _written(committed_engine)
    late = mark(old)
    assert late.status_code == 403
    assert late.json()["code"] == "attendance.teacher-window"
    # Another teacher's lesson is not the teacher's to read: missing, so nothing leaks.
    assert mark(other, world.student_2).status_code == 404
    assert _written(committed_engine) == before
    assert _marks(committed_engine, old) == {}
    assert _marks(committed_engine, other) == {}
    # The office corrects it later.
    staff = client.post(
        f"/api/class-sessions/{old}/attendance",
        headers=bearer(world.staff_a),
        json={"marks": [{"student_id": world.student_1, "state": "present"}]},
    )
    assert staff.status_code == 200
    # The same from the phone's form.
    _teacher(client, committed_engine, world)
    assert _tap(client, other, world.student_2, "present").status_code == 404
    assert _tap(client, old, world.student_1, "absent").status_code == 403
    assert _marks(committed_engine, old) == {world.student_1: "present"}


def test_staff_on_the_teachers_page_are_sent_to_the_day_grid(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    _office(client, committed_engine, world)
    page = client.get("/me/today")
    assert page.status_code == 200
    assert 'id="not-a-teacher"' in page.text
    assert f'href="/branches/{world.branch_a}/day"' in page.text
    assert 'id="today-link"' not in page.text


# The office: the lesson page.


def test_an_absence_notice_recorded_before_the_lesson_earns_a_credit(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    lesson = book(committed_engine, world, next_weekday(4), "18:00", "19:00")
    _office(client, committed_engine, world)
    page = client.get(f"/sessions/{lesson}")
    assert page.status_code == 200
    field = f"state-{lesson}-{world.student_1}"
    assert f'id="roll-{lesson}-{world.student_1}-absent_notified"' in page.text
    answer = client.post(
        f"/sessions/{lesson}/attendance",
        data={"csrf_token": csrf_of(page.text), field: "absent_notified"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/sessions/{lesson}?done=roll#roll"
    credits = client.get(f"/api/students/{world.student_1}/credits", headers=bearer(world.staff_a))
    assert credits.json()["balance"] == 1
    shown = client.get(f"/sessions/{lesson}?done=roll").text
    assert 'id="roll-done"' in shown
    assert "Absent (notified)" in shown
    notice = re.search(rf'id="notified-{lesson}-{world.student_1}"[^>]*value="(\d\d:\d\d)"', shown)
    assert notice, "the notice's time is shown in the form"
    # The same form sent again (as the page shows it) changes nothing: no second audit, the
    # notice keeps its time, the credit stays.
    before = _written(committed_engine)
    again = client.post(
        f"/sessions/{lesson}/attendance",
        data={
            "csrf_token": csrf_of(shown),
            field: "absent_notified",
            f"notified-{lesson}-{world.student_1}": notice[1],
        },
        follow_redirects=False,
    )
    assert again.status_code == 303
    assert _written(committed_engine) == before


def test_a_roll_form_with_a_bad_time_is_shown_again_next_to_the_field(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    lesson = book(committed_engine, world, next_weekday(4), "18:00", "19:00")
    _office(client, committed_engine, world)
    page = client.get(f"/sessions/{lesson}")
    name = f"{lesson}-{world.student_1}"
    answer = client.post(
        f"/sessions/{lesson}/attendance",
        data={
            "csrf_token": csrf_of(page.text),
            f"state-{name}": "absent_notified",
            f"notified-{name}": "25:99",
        },
    )
    assert answer.status_code == 422
    assert f'id="notified-{name}-error"' in answer.text
    assert _marks(committed_engine, lesson) == {}


# The office: a day at a time.


def _day_form(client: TestClient, branch: int, day: date) -> str:
    page = client.get(f"/branches/{branch}/roll?date={day}")
    assert page.status_code == 200
    return page.text


def test_the_day_form_marks_several_lessons_in_one_post(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    today = _today()
    first = book(committed_engine, world, today, "16:00", "17:00")
    group = _group(
        committed_engine, world, today, world.student_2, world.student_3,
        teacher_id=world.teacher_2,
    )  # fmt: skip
    _office(client, committed_engine, world)
    grid = client.get(f"/branches/{world.branch_a}/day?date={today}").text
    assert f'href="/branches/{world.branch_a}/roll?date={today}"' in grid
    html = _day_form(client, world.branch_a, today)
    assert f'id="roll-lesson-{first}"' in html
    assert f'id="roll-lesson-{group}"' in html
    answer = client.post(
        f"/branches/{world.branch_a}/roll?date={today}",
        data={
            "csrf_token": csrf_of(html),
            f"state-{first}-{world.student_1}": "present",
            f"state-{group}-{world.student_2}": "late",
            f"state-{group}-{world.student_3}": "absent",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:500]
    assert answer.headers["location"] == f"/branches/{world.branch_a}/roll?date={today}&done=roll"
    assert _marks(committed_engine, first) == {world.student_1: "present"}
    assert _marks(committed_engine, group) == {world.student_2: "late", world.student_3: "absent"}
    shown = _day_form(client, world.branch_a, today)
    assert re.search(rf'id="roll-{group}-{world.student_2}-late" checked', shown)


def test_a_day_post_naming_another_branchs_lesson_changes_nothing(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    today = _today()
    here = book(committed_engine, world, today, "16:00", "17:00")
    there = book(
        committed_engine, world, today, "16:00", "17:00", branch_id=world.branch_b,
        teacher_id=world.teacher_2, student_id=world.student_2,
    )  # fmt: skip
    _office(client, committed_engine, world)
    html = _day_form(client, world.branch_a, today)
    assert f'id="roll-lesson-{there}"' not in html
    before = _written(committed_engine)
    answer = client.post(
        f"/branches/{world.branch_a}/roll?date={today}",
        data={
            "csrf_token": csrf_of(html),
            f"state-{here}-{world.student_1}": "present",
            f"state-{there}-{world.student_2}": "present",
        },
    )
    assert answer.status_code == 422
    assert f"lesson {there} is not a lesson of this branch" in answer.text
    assert _written(committed_engine) == before
    # The API: one request for the day, refused whole in the same way.
    url = f"/api/branches/{world.branch_a}/attendance?date={today}"
    body = {
        "lessons": [
            {"session_id": here, "marks": [{"student_id": world.student_1, "state": "present"}]},
            {"session_id": there, "marks": [{"student_id": world.student_2, "state": "present"}]},
        ]
    }
    refused = client.post(url, headers=bearer(world.staff_a), json=body)
    assert refused.status_code == 422
    assert refused.json()["errors"][0] == {
        "field": "lessons.1.session_id",
        "message": f"lesson {there} is not a lesson of this branch on {today}",
        "code": "attendance.not-that-day",
    }
    assert _written(committed_engine) == before
    wrong_day = client.post(
        f"/api/branches/{world.branch_a}/attendance?date={today + timedelta(days=1)}",
        headers=bearer(world.staff_a),
        json={"lessons": body["lessons"][:1]},
    )
    assert wrong_day.status_code == 422
    assert _written(committed_engine) == before


def test_the_day_api_marks_every_lesson_in_one_request(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    day = next_weekday(4)
    first = book(committed_engine, world, day, "16:00", "17:00")
    second = book(committed_engine, world, day, "18:00", "19:00", student_id=world.student_2)
    body = {
        "lessons": [
            {"session_id": first, "marks": [{"student_id": world.student_1, "state": "present"}]},
            {
                "session_id": second,
                "marks": [{"student_id": world.student_2, "state": "absent_notified"}],
            },
        ]
    }
    url = f"/api/branches/{world.branch_a}/attendance?date={day}"
    assert client.post(url, headers=bearer(world.teacher), json=body).status_code == 403
    answer = client.post(url, headers=bearer(world.staff_a), json=body)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert [x["session_id"] for x in found["lessons"]] == [first, second]
    assert len(found["lessons"][1]["credits_issued"]) == 1, "notified before the lesson"
    assert _marks(committed_engine, first) == {world.student_1: "present"}
    assert _marks(committed_engine, second) == {world.student_2: "absent_notified"}
