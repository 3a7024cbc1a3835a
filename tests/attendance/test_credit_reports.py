"""Outstanding make-up credits: the usable ones per student with their days left, those
expiring within 14 days, the flagged ones apart; through the service, the API, the page,
the CSV and the student's week."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from komawari.attendance import credits, expiry, report_pages, reports
from komawari.attendance.models import Credit
from komawari.audit.service import Actor
from komawari.auth.enums import Role
from komawari.db.engine import session_scope
from komawari.people.models import Student
from komawari.scheduling import clock
from tests.factories import branches, people
from tests.factories import credits as make
from tests.factories.bookings import cancel
from tests.factories.world import World, bearer
from tests.web.pages import make_user, sign_in

WHO = Actor("test", "office")
TODAY = date(2026, 12, 7)
# 12:00 on TODAY in Tokyo.
NOON = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


@dataclass
class School:
    branch: int
    other: int
    teacher: int
    aoi: int
    riku: int


@pytest.fixture
def school(db: Session) -> School:
    a, b = branches.branch(db), branches.branch(db)
    teacher = people.teacher(db)
    return School(a.id, b.id, teacher.id, people.student(db, name="Aoi").id, people.student(db).id)


def _credit(db: Session, s: School, days: int, *, student: int | None = None, at: int = 0) -> int:
    """A credit whose last day is `days` after TODAY."""
    last = TODAY + timedelta(days=days)
    return make.credit(
        db,
        branch_id=at or s.branch,
        teacher_id=s.teacher,
        student_id=student or s.aoi,
        absence=min(last, TODAY) - timedelta(days=3),
        expires_on=last,
    ).id


def _listed(found: reports.Outstanding) -> list[int]:
    return [c.id for st in found.students for c in st.credits]


def test_a_credit_with_14_days_left_expires_soon_and_one_with_15_does_not(
    db: Session, school: School
) -> None:
    fourteen, fifteen = _credit(db, school, 14), _credit(db, school, 15)
    everything = reports.outstanding(db, [school.branch], today=TODAY)
    assert _listed(everything) == [fourteen, fifteen]
    assert [c.id for c in everything.expiring] == [fourteen]
    assert [(c.days_left, c.soon) for c in everything.students[0].credits] == [
        (14, True),
        (15, False),
    ]
    within = reports.outstanding(db, [school.branch], today=TODAY, expiring_within_days=14)
    assert _listed(within) == [fourteen]
    assert within.count == 1


def test_a_credit_is_usable_on_its_last_day_and_not_after_even_before_the_expiry_ran(
    db: Session, school: School
) -> None:
    today, yesterday = _credit(db, school, 0), _credit(db, school, -1)
    found = reports.outstanding(db, [school.branch], today=TODAY, expiring_within_days=0)
    assert _listed(found) == [today]
    assert found.students[0].credits[0].days_left == 0
    assert yesterday not in [c.id for c in found.expiring]


def test_used_expired_and_revoked_credits_are_not_outstanding_and_a_released_one_is(
    db: Session, school: School
) -> None:
    usable, used, revoked, released = (_credit(db, school, d) for d in (5, 6, 7, 8))
    expired = make.credit(
        db,
        branch_id=school.branch,
        teacher_id=school.teacher,
        student_id=school.aoi,
        absence=TODAY - timedelta(days=40),
        expires_on=TODAY - timedelta(days=10),
    ).id
    assert credits.expire_due(db, TODAY, WHO) == [expired]
    make.make_up(db, db.get_one(Credit, used), teacher_id=school.teacher, day=TODAY)
    lesson = make.make_up(db, db.get_one(Credit, released), teacher_id=school.teacher, day=TODAY)
    cancel(db, lesson.id)
    assert credits.take_back(db, db.get_one(Credit, revoked), WHO, "corrected") == ("revoked")
    found = reports.outstanding(db, [school.branch], today=TODAY)
    assert _listed(found) == [usable, released]
    assert found.students[0].balance == 2, "the sum of every entry of the student's credits"


def test_another_branchs_credits_are_not_listed(db: Session, school: School) -> None:
    here = _credit(db, school, 3)
    there = _credit(db, school, 3, at=school.other)
    assert _listed(reports.outstanding(db, [school.branch], today=TODAY)) == [here]
    assert _listed(reports.outstanding(db, [school.other], today=TODAY)) == [there]
    assert sorted(_listed(reports.outstanding(db, None, today=TODAY))) == [here, there]
    mine = reports.for_student(db, school.aoi, [school.branch])
    assert ([c.id for c in mine.credits], mine.balance) == ([here], 1)


def test_students_are_listed_by_name_each_with_their_balance(db: Session, school: School) -> None:
    db.get_one(Student, school.riku).name = "Riku"
    r1 = _credit(db, school, 20, student=school.riku)
    a1, a2 = _credit(db, school, 9), _credit(db, school, 2)
    found = reports.outstanding(db, [school.branch], today=TODAY)
    assert [(s.student_name, s.balance, [c.id for c in s.credits]) for s in found.students] == [
        ("Aoi", 2, [a2, a1]),
        ("Riku", 1, [r1]),
    ]


def test_a_flagged_credit_is_listed_apart_until_it_ends(db: Session, school: School) -> None:
    flagged = _credit(db, school, 10)
    row = db.get_one(Credit, flagged)
    lesson = make.make_up(db, row, teacher_id=school.teacher, day=TODAY)
    assert credits.take_back(db, row, WHO, "attendance corrected to present") == "flagged"
    found = reports.outstanding(db, [school.branch], today=TODAY)
    assert _listed(found) == []
    assert [(f.id, f.balance, f.flag_reason) for f in found.flagged] == [
        (flagged, 0, "attendance corrected to present")
    ]
    elsewhere = reports.outstanding(db, [school.other], today=TODAY)
    assert elsewhere.flagged == []
    cancel(db, lesson.id)  # staff call the make-up off: the flagged credit is revoked
    assert reports.flagged(db, [school.branch]) == []
    assert _listed(reports.outstanding(db, [school.branch], today=TODAY)) == []


def test_credits_are_counted_per_month_of_their_last_day(db: Session, school: School) -> None:
    for days in (1, 20, 60):  # 8 Dec, 27 Dec, 5 Feb
        _credit(db, school, days)
    found = reports.outstanding(db, [school.branch], today=TODAY)
    assert found.by_month() == {date(2026, 12, 1): 2, date(2027, 1, 1): 0, date(2027, 2, 1): 1}
    chart, months = report_pages.month_bars(found)
    assert [(m.month.month, m.bar.value) for m in months] == [(12, 2), (1, 0), (2, 1)]
    assert months[0].bar.height == chart.height
    assert months[2].bar.height == chart.height / 2


def test_a_students_credits_are_usable_until_their_own_branchs_day_ends(db: Session) -> None:
    teacher, student = people.teacher(db), people.student(db)
    made = {}
    for zone in ("Asia/Tokyo", "America/Los_Angeles"):
        branch = branches.branch(db, time_zone=zone)
        made[zone] = make.credit(
            db,
            branch_id=branch.id,
            teacher_id=teacher.id,
            student_id=student.id,
            absence=date(2026, 12, 1),
            expires_on=date(2026, 12, 31),
        ).id
    # 1 January in Tokyo (05:00), 31 December in Los Angeles (12:00) and in UTC.
    with time_machine.travel(datetime(2026, 12, 31, 20, 0, tzinfo=UTC), tick=False):
        found = reports.for_student(db, student.id, None)
    assert [(c.id, c.days_left) for c in found.credits] == [(made["America/Los_Angeles"], 0)]
    assert found.balance == 2, "the ledger's sum: the expiry has not run yet"


# Through the API, the pages and the CSV (committed data, the world's two branches).


def _world_credits(engine: Engine, world: World) -> dict[str, int]:
    """Credits of Aoi at branch A (14 and 15 days left) and at branch B, on the branch's
    today."""
    with session_scope(engine) as s:
        today = clock.branch_today("Asia/Tokyo")
        made = {}
        for key, branch, days in (("soon", world.branch_a, 14), ("later", world.branch_a, 15),
                                  ("b", world.branch_b, 3)):  # fmt: skip
            made[key] = make.credit(
                s,
                branch_id=branch,
                teacher_id=world.teacher_1,
                student_id=world.student_1,
                absence=today - timedelta(days=2),
                expires_on=today + timedelta(days=days),
            ).id
        return made


def test_the_api_lists_a_branchs_credits_to_its_staff_only(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    made = _world_credits(committed_engine, world)
    url = f"/api/branches/{world.branch_a}/credits"
    answer = client.get(url, headers=bearer(world.staff_a))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["count"] == 2
    [aoi] = body["students"]
    assert (aoi["student_name"], aoi["balance"]) == ("Aoi", 2)
    assert [(c["id"], c["days_left"], c["soon"]) for c in aoi["credits"]] == [
        (made["soon"], 14, True),
        (made["later"], 15, False),
    ]
    assert [c["id"] for c in body["expiring_soon"]] == [made["soon"]]
    within = client.get(url, params={"expiring_within": 14}, headers=bearer(world.staff_a))
    assert [c["id"] for c in within.json()["students"][0]["credits"]] == [made["soon"]]
    other = f"/api/branches/{world.branch_b}/credits"
    assert client.get(other, headers=bearer(world.staff_a)).status_code == 404
    assert client.get(url, headers=bearer(world.teacher)).status_code == 403
    admin = client.get(other, headers=bearer(world.admin)).json()
    assert [c["id"] for c in admin["students"][0]["credits"]] == [made["b"]]
    bad = client.get(url, params={"expiring_within": -1}, headers=bearer(world.staff_a))
    assert bad.status_code == 422
    assert "expiring_within" in bad.text


def test_the_page_marks_credits_expiring_soon_in_words_and_lists_them(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    made = _world_credits(committed_engine, world)
    make_user(committed_engine, "clerk", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "clerk") == 303
    page = client.get(f"/branches/{world.branch_a}/credits")
    assert page.status_code == 200
    html = page.text
    soon = html.split(f'id="credit-{made["soon"]}"')[1].split("</li>")[0]
    later = html.split(f'id="credit-{made["later"]}"')[1].split("</li>")[0]
    assert "Expiring soon" in soon
    assert "14 days left" in soon
    assert "Expiring soon" not in later
    assert "15 days left" in later
    assert f'href="/students/{world.student_1}/week"' in html
    assert f'id="expiring-{made["soon"]}"' in html
    assert f'id="expiring-{made["later"]}"' not in html
    assert f'id="credit-{made["b"]}"' not in html, "another branch's credit"
    assert "<svg" in html.split('id="by-month"')[1]
    assert client.get(f"/branches/{world.branch_b}/credits").status_code == 404
    day = client.get(f"/branches/{world.branch_a}/day").text
    assert f'href="/branches/{world.branch_a}/credits"' in day


def test_the_csv_has_a_row_per_usable_credit(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    made = _world_credits(committed_engine, world)
    make_user(committed_engine, "clerk", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "clerk") == 303
    answer = client.get(f"/branches/{world.branch_a}/credits.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    text = answer.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0][:3] == ["Student ID", "Student", "Balance"]
    assert [(r[3], r[6], r[7]) for r in rows[1:]] == [
        (str(made["soon"]), "14", "yes"),
        (str(made["later"]), "15", ""),
    ]
    within = client.get(f"/branches/{world.branch_a}/credits.csv?expiring_within=14")
    assert len(list(csv.reader(io.StringIO(within.text)))) == 2
    assert client.get(f"/branches/{world.branch_b}/credits.csv").status_code == 404


def test_a_name_a_spreadsheet_would_run_is_written_as_text(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    _world_credits(committed_engine, world)
    with session_scope(committed_engine) as s:
        s.get_one(Student, world.student_1).name = "=HYPERLINK(1)"
    make_user(committed_engine, "clerk", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "clerk") == 303
    text = client.get(f"/branches/{world.branch_a}/credits.csv").text
    assert "'=HYPERLINK(1)" in text


def test_the_students_week_shows_the_balance_and_links_each_credit_to_a_make_up_slot(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    made = _world_credits(committed_engine, world)
    make_user(committed_engine, "clerk", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "clerk") == 303
    html = client.get(f"/students/{world.student_1}/week").text
    assert 'id="credits"' in html
    assert "Balance: 2 credits" in html.split('id="balance"')[1].split("</p>")[0]
    for key in ("soon", "later"):
        n = made[key]
        assert f'id="credit-{n}"' in html
        assert f'id="find-slot-{n}" href="/students/{world.student_1}/makeup?credit={n}"' in html
    assert f'id="credit-{made["b"]}"' not in html, "another branch's credit"
    teacher = client.get(f"/teachers/{world.teacher_1}/week").text
    assert 'id="credits"' not in teacher


def test_the_expiry_leaves_the_listing_as_it_was_on_the_same_day(
    db: Session, school: School
) -> None:
    # The listing already hides a credit past its last day; the expiry then ends it in the
    # ledger: the list is the same before and after.
    kept, gone = _credit(db, school, 1), _credit(db, school, -1)
    with time_machine.travel(NOON, tick=False):
        before = _listed(reports.outstanding(db, [school.branch], today=TODAY))
        assert expiry.expire_everywhere(db, WHO) == [gone]
        after = _listed(reports.outstanding(db, [school.branch], today=TODAY))
    assert before == after == [kept]
