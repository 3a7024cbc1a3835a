"""A branch's month in numbers (集計): attendance rates per teacher and per group, teacher
hours with substitute and cancelled lessons apart; through the service, the API, the page
and the two CSV files, in both languages."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import count

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from komawari.attendance import stats, stats_pages
from komawari.attendance.enums import AttendanceState
from komawari.attendance.models import AttendanceMark
from komawari.auth.enums import Role
from komawari.branches.models import Branch
from komawari.db.engine import session_scope
from komawari.people.models import Teacher
from komawari.series.enums import SeriesKind
from komawari.series.models import ClassSeries
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from tests.factories import branches, people
from tests.factories.world import World, bearer
from tests.web.pages import make_user, sign_in

DECEMBER = date(2026, 12, 1)
# 12:00 on 15 December in Tokyo: lessons before it have ended, lessons after it are to come.
MID_MONTH = datetime(2026, 12, 15, 3, 0, tzinfo=UTC)
S = AttendanceState
_minute = count()


def lesson(
    db: Session,
    branch: int,
    teacher: int,
    day: date,
    *,
    minutes: int = 60,
    student: int | None = None,
    status: SessionStatus = SessionStatus.CONFIRMED,
    substitute_for: int | None = None,
    series: ClassSeries | None = None,
    title: str | None = None,
) -> int:
    """A lesson row at a time of its own (private with `student`, else a group lesson)."""
    start = datetime.combine(day, time(9)) + timedelta(minutes=next(_minute) % 600)
    zone = db.get_one(Branch, branch).time_zone
    row = ClassSession(
        branch_id=branch,
        time_zone=zone,
        kind=SeriesKind.PRIVATE if student else SeriesKind.GROUP,
        title=None if student else (title or (series.title if series else "Group")),
        date=day,
        start_time=start.time(),
        end_time=(start + timedelta(minutes=minutes)).time(),
        teacher_id=teacher,
        student_id=student,
        substitute_for_id=substitute_for,
        series_id=series.id if series else None,
        original_date=day if series else None,
        status=status,
        cancel_reason="test" if status == SessionStatus.CANCELLED else None,
    )
    db.add(row)
    db.flush()
    return row.id


def mark(db: Session, session_id: int, *states: AttendanceState) -> None:
    """Mark a new student per state at the lesson."""
    for state in states:
        student = people.student(db).id
        db.add(
            AttendanceMark(session_id=session_id, student_id=student, state=state, marked_by="test")
        )
    db.flush()


def group_series(db: Session, branch: int, teacher: int, title: str) -> ClassSeries:
    row = ClassSeries(
        branch_id=branch,
        teacher_id=teacher,
        kind=SeriesKind.GROUP,
        title=title,
        capacity=8,
        weekdays=1,
        start_time=time(17),
        end_time=time(18),
        first_date=DECEMBER,
    )
    db.add(row)
    db.flush()
    return row


@dataclass
class School:
    branch: int
    other: int
    sato: int
    suzuki: int
    aoi: int


@pytest.fixture
def school(db: Session) -> School:
    a, b = branches.branch(db), branches.branch(db)
    return School(
        a.id,
        b.id,
        people.teacher(db, name="Sato").id,
        people.teacher(db, name="Suzuki").id,
        people.student(db, name="Aoi").id,
    )


def _attendance(db: Session, s: School, month: date = DECEMBER) -> stats.AttendanceReport:
    return stats.attendance(db, s.branch, month=month, now=MID_MONTH)


def _by_teacher(found: stats.AttendanceReport) -> dict[int, stats.Tally]:
    return {t.teacher_id: t.tally for t in found.teachers}


def _hours(db: Session, s: School, month: date = DECEMBER) -> dict[int, stats.TeacherHours]:
    return {t.teacher_id: t for t in stats.hours(db, s.branch, month=month).teachers}


# The rules, through the service.


def test_the_rate_is_present_late_and_left_early_over_every_mark_but_school_cancelled(
    db: Session, school: School
) -> None:
    day = date(2026, 12, 3)
    one = lesson(db, school.branch, school.sato, day)
    mark(db, one, S.PRESENT, S.LATE, S.LEFT_EARLY, S.ABSENT_NOTIFIED, S.ABSENT)
    mark(db, one, S.SCHOOL_CANCELLED, S.SCHOOL_CANCELLED)
    tally = _by_teacher(_attendance(db, school))[school.sato]
    assert dict(tally.marks) == {
        S.PRESENT: 1,
        S.LATE: 1,
        S.LEFT_EARLY: 1,
        S.ABSENT_NOTIFIED: 1,
        S.ABSENT: 1,
        S.SCHOOL_CANCELLED: 2,
    }
    assert (tally.attended, tally.rated) == (3, 5)
    assert tally.rate == pytest.approx(0.6), "school_cancelled is not in the denominator"


def test_only_school_cancelled_marks_leave_no_rate(db: Session, school: School) -> None:
    one = lesson(db, school.branch, school.sato, date(2026, 12, 3))
    mark(db, one, S.SCHOOL_CANCELLED)
    tally = _by_teacher(_attendance(db, school))[school.sato]
    assert (tally.rated, tally.rate, tally.lessons, tally.not_taken) == (0, None, 1, 0)


def test_a_cancelled_lesson_is_not_counted_in_attendance_and_apart_in_hours(
    db: Session, school: School
) -> None:
    day = date(2026, 12, 3)
    live = lesson(db, school.branch, school.sato, day, minutes=90)
    mark(db, live, S.PRESENT)
    gone = lesson(db, school.branch, school.sato, day, status=SessionStatus.CANCELLED)
    mark(db, gone, S.ABSENT, S.ABSENT)  # marked, then the lesson was called off
    lesson(db, school.branch, school.suzuki, day, status=SessionStatus.CANCELLED)
    found = _attendance(db, school)
    tally = _by_teacher(found)[school.sato]
    assert (tally.lessons, tally.marks[S.ABSENT], tally.rate) == (1, 0, 1.0)
    assert school.suzuki not in _by_teacher(found), "only a cancelled lesson: not listed"
    assert found.total.lessons == 1
    hours = _hours(db, school)
    assert (hours[school.sato].own, hours[school.sato].cancelled) == (
        stats.Taught(1, 90),
        stats.Taught(1, 60),
    )
    assert (hours[school.suzuki].own, hours[school.suzuki].cancelled) == (
        stats.Taught(0, 0),
        stats.Taught(1, 60),
    )


def test_a_duplicate_row_cancelled_by_the_dedupe_is_not_a_cancelled_lesson(
    db: Session, school: School
) -> None:
    kept = lesson(db, school.branch, school.sato, date(2026, 12, 3))
    copy = lesson(db, school.branch, school.sato, date(2026, 12, 3), status=SessionStatus.CANCELLED)
    db.get_one(ClassSession, copy).duplicate_of_id = kept
    db.flush()
    assert _hours(db, school)[school.sato].cancelled == stats.Taught(0, 0)


def test_substitute_lessons_count_apart_for_the_teacher_who_taught_them(
    db: Session, school: School
) -> None:
    day = date(2026, 12, 10)
    lesson(db, school.branch, school.sato, day, minutes=50)
    taken = lesson(db, school.branch, school.suzuki, day, minutes=90, substitute_for=school.sato)
    mark(db, taken, S.PRESENT, S.ABSENT)
    lesson(db, school.branch, school.suzuki, day, minutes=60)
    hours = _hours(db, school)
    sato, suzuki = hours[school.sato], hours[school.suzuki]
    assert (sato.own, sato.substitute) == (stats.Taught(1, 50), stats.Taught(0, 0))
    assert (suzuki.own, suzuki.substitute) == (stats.Taught(1, 60), stats.Taught(1, 90))
    assert suzuki.taught == stats.Taught(2, 150)
    assert suzuki.taught.hours == 2.5
    assert stats.Taught(1, 50).hours == 0.83
    tallies = _by_teacher(_attendance(db, school))
    assert tallies[school.suzuki].rate == 0.5, "the marks go to the teacher who taught"
    assert tallies[school.sato].marks[S.ABSENT] == 0


def test_the_month_is_its_first_to_its_last_day_at_the_branch(db: Session, school: School) -> None:
    for day in (date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 31), date(2027, 1, 1)):
        mark(db, lesson(db, school.branch, school.sato, day, minutes=60), S.PRESENT)
    assert _by_teacher(_attendance(db, school))[school.sato].marks[S.PRESENT] == 2
    assert _hours(db, school)[school.sato].own == stats.Taught(2, 120)
    november = _hours(db, school, date(2026, 11, 1))[school.sato].own
    assert november == stats.Taught(1, 60)


def test_this_month_is_the_branchs_own(db: Session) -> None:
    # 05:00 on 1 January in Tokyo; 12:00 on 31 December in Los Angeles.
    with time_machine.travel(datetime(2026, 12, 31, 20, 0, tzinfo=UTC), tick=False):
        assert stats.this_month("Asia/Tokyo") == date(2027, 1, 1)
        assert stats.this_month("America/Los_Angeles") == date(2026, 12, 1)


def test_another_branchs_lessons_are_not_counted(db: Session, school: School) -> None:
    here = lesson(db, school.branch, school.sato, date(2026, 12, 3))
    there = lesson(db, school.other, school.sato, date(2026, 12, 3), minutes=120)
    mark(db, here, S.PRESENT)
    mark(db, there, S.ABSENT, S.ABSENT)
    tally = _by_teacher(_attendance(db, school))[school.sato]
    assert (tally.lessons, tally.rate) == (1, 1.0)
    assert _hours(db, school)[school.sato].own == stats.Taught(1, 60)
    elsewhere = stats.hours(db, school.other, month=DECEMBER).teachers
    assert [(t.teacher_id, t.own) for t in elsewhere] == [(school.sato, stats.Taught(1, 120))]


def test_a_lesson_without_any_mark_is_not_taken_once_ended_and_to_come_before(
    db: Session, school: School
) -> None:
    lesson(db, school.branch, school.sato, date(2026, 12, 14))
    lesson(db, school.branch, school.sato, date(2026, 12, 16))
    marked = lesson(db, school.branch, school.sato, date(2026, 12, 13))
    mark(db, marked, S.ABSENT_NOTIFIED)
    noticed = lesson(db, school.branch, school.sato, date(2026, 12, 20))
    mark(db, noticed, S.ABSENT_NOTIFIED)  # a notice before the lesson: taken
    tally = _by_teacher(_attendance(db, school))[school.sato]
    assert (tally.lessons, tally.not_taken, tally.to_come) == (4, 1, 1)
    assert tally.rate == 0.0


def test_groups_are_counted_per_series_and_one_off_group_lessons_per_title(
    db: Session, school: School
) -> None:
    english = group_series(db, school.branch, school.sato, "English A")
    maths = group_series(db, school.branch, school.suzuki, "Maths")
    for day in (date(2026, 12, 7), date(2026, 12, 14)):
        mark(db, lesson(db, school.branch, school.sato, day, series=english), S.PRESENT, S.ABSENT)
    # Suzuki stands in for one English lesson: still English A's.
    mark(
        db,
        lesson(
            db,
            school.branch,
            school.suzuki,
            date(2026, 12, 21),
            series=english,
            substitute_for=school.sato,
        ),
        S.LATE,
    )
    mark(db, lesson(db, school.branch, school.suzuki, date(2026, 12, 8), series=maths), S.PRESENT)
    mark(db, lesson(db, school.branch, school.sato, date(2026, 12, 9), title="Trial"), S.ABSENT)
    mark(
        db, lesson(db, school.branch, school.sato, date(2026, 12, 9), student=school.aoi), S.PRESENT
    )
    groups = _attendance(db, school).groups
    assert [
        (g.series_id, g.title, g.tally.lessons, g.tally.attended, g.tally.rated) for g in groups
    ] == [
        (english.id, "English A", 3, 3, 5),
        (maths.id, "Maths", 1, 1, 1),
        (None, "Trial", 1, 0, 1),
    ]


def test_teachers_are_listed_by_name_with_the_totals(db: Session, school: School) -> None:
    db.get_one(Teacher, school.suzuki).name = "Abe"
    mark(db, lesson(db, school.branch, school.sato, date(2026, 12, 3)), S.PRESENT)
    mark(db, lesson(db, school.branch, school.suzuki, date(2026, 12, 4)), S.ABSENT)
    found = _attendance(db, school)
    assert [t.teacher_name for t in found.teachers] == ["Abe", "Sato"]
    assert (found.total.lessons, found.total.rate) == (2, 0.5)
    report = stats.hours(db, school.branch, month=DECEMBER)
    assert [t.teacher_name for t in report.teachers] == ["Abe", "Sato"]
    assert report.total.own == stats.Taught(2, 120)


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "abc", "2026-1", "2026-12-01", "", None])
def test_a_month_that_is_not_yyyy_mm_is_refused(text: str | None) -> None:
    with pytest.raises(ValueError, match="not a month as YYYY-MM"):
        stats.parse_month(text)


def test_a_month_is_read_as_its_first_day() -> None:
    assert stats.parse_month("2026-04") == date(2026, 4, 1)
    assert stats.previous_month(date(2026, 1, 1)) == date(2025, 12, 1)
    assert stats.next_month(date(2026, 12, 1)) == date(2027, 1, 1)


def test_the_chart_draws_own_and_substitute_hours_to_scale(db: Session, school: School) -> None:
    lesson(db, school.branch, school.sato, date(2026, 12, 3), minutes=60)
    lesson(db, school.branch, school.suzuki, date(2026, 12, 3), minutes=60)
    lesson(
        db, school.branch, school.suzuki, date(2026, 12, 4), minutes=60, substitute_for=school.sato
    )
    chart = stats_pages.hours_chart(stats.hours(db, school.branch, month=DECEMBER))
    full = stats_pages.BAR_WIDTH
    assert [(b.row.teacher_name, b.own, b.substitute) for b in chart.bars] == [
        ("Sato", full / 2, 0),
        ("Suzuki", full / 2, full / 2),
    ]


# Through the API, the page and the CSV files (committed data, the world's two branches).


def _world_month(engine: Engine, world: World) -> dict[str, int]:
    """In December 2026 at branch A: Sato 60 + 90 minutes (one lesson cancelled), Suzuki a
    substitute lesson; at branch B, a lesson of Sato's."""
    with session_scope(engine) as s:
        day = date(2026, 12, 3)
        sato = lesson(s, world.branch_a, world.teacher_1, day, student=world.student_1)
        mark(s, sato, S.PRESENT)
        late = lesson(s, world.branch_a, world.teacher_1, day, minutes=90, student=world.student_2)
        mark(s, late, S.LATE)
        lesson(
            s,
            world.branch_a,
            world.teacher_1,
            day,
            status=SessionStatus.CANCELLED,
            student=world.student_3,
        )
        sub = lesson(
            s,
            world.branch_a,
            world.teacher_2,
            day,
            substitute_for=world.teacher_1,
            student=world.student_1,
        )
        mark(s, sub, S.ABSENT)
        lesson(s, world.branch_b, world.teacher_1, day, student=world.student_1)
        return {"sato": sato, "sub": sub}


def test_the_api_answers_a_branchs_month_to_its_staff_only(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    _world_month(committed_engine, world)
    base = f"/api/branches/{world.branch_a}/reports"
    hours = client.get(f"{base}/hours?month=2026-12", headers=bearer(world.staff_a))
    assert hours.status_code == 200, hours.text
    body = hours.json()
    assert body["month"] == "2026-12"
    assert [
        (
            t["teacher_name"],
            t["own"]["lessons"],
            t["own"]["minutes"],
            t["own"]["hours"],
            t["substitute"]["lessons"],
            t["cancelled"]["lessons"],
        )
        for t in body["teachers"]
    ] == [("Sato", 2, 150, 2.5, 0, 1), ("Suzuki", 0, 0, 0.0, 1, 0)]
    assert body["total"]["own"]["lessons"] == 2
    rates = client.get(f"{base}/attendance?month=2026-12", headers=bearer(world.staff_a)).json()
    [sato, suzuki] = rates["teachers"]
    assert (sato["teacher_name"], sato["rate"], sato["marks"]["late"]) == ("Sato", 1.0, 1)
    assert (suzuki["rate"], suzuki["marks"]["absent"], suzuki["lessons"]) == (0.0, 1, 1)
    assert rates["total"]["rate"] == pytest.approx(2 / 3, abs=1e-4)
    november = client.get(f"{base}/hours?month=2026-11", headers=bearer(world.staff_a)).json()
    assert november["teachers"] == []
    this = client.get(f"{base}/hours", headers=bearer(world.staff_a)).json()
    assert this["month"] == stats.this_month("Asia/Tokyo").strftime("%Y-%m")
    other = f"/api/branches/{world.branch_b}/reports/hours?month=2026-12"
    assert client.get(other, headers=bearer(world.staff_a)).status_code == 404
    assert client.get(f"{base}/hours", headers=bearer(world.teacher)).status_code == 403
    admin = client.get(other, headers=bearer(world.admin)).json()
    assert [(t["teacher_name"], t["own"]["lessons"]) for t in admin["teachers"]] == [("Sato", 1)]


@pytest.mark.parametrize("path", ["hours", "attendance"])
@pytest.mark.parametrize("month", ["2026-13", "abc"])
def test_a_bad_month_is_a_422_naming_month(
    client: TestClient, world: World, path: str, month: str
) -> None:
    answer = client.get(
        f"/api/branches/{world.branch_a}/reports/{path}",
        params={"month": month},
        headers=bearer(world.staff_a),
    )
    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert (error["field"], error["code"]) == ("month", "month.not-a-month")


def _clerk(client: TestClient, engine: Engine, world: World) -> None:
    make_user(engine, "clerk", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "clerk") == 303


def test_the_page_shows_both_tables_and_the_chart_in_english_and_japanese(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    _world_month(committed_engine, world)
    _clerk(client, committed_engine, world)
    url = f"/branches/{world.branch_a}/reports?month=2026-12"
    html = client.get(url).text
    sato = html.split(f'id="hours-teacher-{world.teacher_1}"')[1].split("</tr>")[0]
    assert ">Sato</a>" in sato
    assert [c.split("<")[0] for c in sato.split("<td>")[1:]] == [
        "2",
        "2.50",
        "0",
        "0.00",
        "1",
        "1.00",
    ]
    assert "Substitute lessons" in html
    chart = html.split('id="hours-chart"')[1].split("</svg>")[0]
    assert "substitute 1.00 h" in chart, "the substitute part is said in words"
    rates = html.split(f'id="attendance-teacher-{world.teacher_1}"')[1].split("</tr>")[0]
    assert "100.0%" in rates
    assert "Attendance rate per teacher" in html
    assert 'href="?month=2026-11"' in html
    assert 'href="?month=2027-01"' in html
    assert f'href="/branches/{world.branch_a}/reports/hours.csv?month=2026-12"' in html
    ja = client.get(url, headers={"Accept-Language": "ja"}).text
    for words in ("集計", "出席率", "コマ数", "代講", "休講", "時間"):
        assert words in ja, words
    assert client.get(f"/branches/{world.branch_b}/reports").status_code == 404
    bad = client.get(f"/branches/{world.branch_a}/reports?month=2026-13")
    assert bad.status_code == 422
    assert "2026-13" in bad.text
    assert "YYYY-MM" in bad.text


def test_the_day_and_credits_pages_link_to_the_reports(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    _clerk(client, committed_engine, world)
    day = client.get(f"/branches/{world.branch_a}/day?date=2026-12-03").text
    assert f'href="/branches/{world.branch_a}/reports?month=2026-12" id="reports-link"' in day
    credits = client.get(f"/branches/{world.branch_a}/credits").text
    assert f'href="/branches/{world.branch_a}/reports"' in credits


def _csv(client: TestClient, url: str, locale: str = "en") -> list[list[str]]:
    answer = client.get(url, headers={"Accept-Language": locale})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    text = answer.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def test_the_hours_csv_has_a_row_per_teacher_in_both_languages(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    _world_month(committed_engine, world)
    _clerk(client, committed_engine, world)
    url = f"/branches/{world.branch_a}/reports/hours.csv?month=2026-12"
    rows = _csv(client, url)
    assert rows[0][:4] == ["Teacher ID", "Teacher", "Lessons taught", "Hours"]
    assert rows[1:] == [
        [str(world.teacher_1), "Sato", "2", "2.50", "0", "0.00", "1", "1.00"],
        [str(world.teacher_2), "Suzuki", "0", "0.00", "1", "1.00", "0", "0.00"],
    ]
    ja = _csv(client, url, "ja")
    assert ja[0][1:4] == ["講師", "コマ数", "時間"]
    assert ja[1:] == rows[1:]
    assert "2026-12" in client.get(url).headers["content-disposition"]
    assert client.get(f"/branches/{world.branch_b}/reports/hours.csv").status_code == 404


def test_the_attendance_csv_has_a_row_per_teacher_and_group_in_both_languages(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    _world_month(committed_engine, world)
    with session_scope(committed_engine) as s:
        s.get_one(Teacher, world.teacher_2).name = "=HYPERLINK(1)"
        english = group_series(s, world.branch_a, world.teacher_1, "English A")
        group = lesson(s, world.branch_a, world.teacher_1, date(2026, 12, 9), series=english)
        mark(s, group, S.PRESENT, S.SCHOOL_CANCELLED)
    _clerk(client, committed_engine, world)
    url = f"/branches/{world.branch_a}/reports/attendance.csv?month=2026-12"
    rows = _csv(client, url)
    assert rows[0][:4] == ["Teacher or group", "ID", "Name", "Number of lessons"]
    assert rows[0][4:10] == [
        "Present",
        "Late",
        "Left early",
        "Absent (notified)",
        "Absent",
        "Cancelled by the school",
    ]
    assert [(r[0], r[2], r[3], r[10]) for r in rows[1:]] == [
        ("Teacher", "'=HYPERLINK(1)", "1", "0.0"),
        ("Teacher", "Sato", "3", "100.0"),
        ("Group", "English A", "1", "100.0"),
    ]
    ja = _csv(client, url, "ja")
    assert "出席率" in ja[0][10]
    assert [r[0] for r in ja[1:]] == ["講師", "講師", "集団授業"]
    assert [r[1:] for r in ja[1:]] == [r[1:] for r in rows[1:]]
