"""The intents no lesson change marks: a new series (once, when generation first makes its
lessons), tomorrow's reminders, make-up credits issued, used and about to expire."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from babel.dates import format_date
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from komawari.auth.enums import Role
from komawari.branches.models import Branch
from komawari.db.engine import session_scope
from komawari.notices import drain, intents
from komawari.notices.enums import NoticeKind
from komawari.notices.models import NoticeIntent, NoticeMessage
from tests.factories import bookings, contacts
from tests.factories import credits as make
from tests.factories.branches import branch
from tests.factories.people import student, teacher
from tests.factories.world import World, bearer
from tests.web.pages import csrf_of, make_user, sign_in


def _kinds(db: Session) -> list[tuple[int, NoticeKind, int | None, int | None]]:
    rows = db.execute(
        select(NoticeIntent.contact_id, NoticeIntent.kind, NoticeIntent.series_id,
               NoticeIntent.credit_id).order_by(NoticeIntent.id)
    )  # fmt: skip
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_a_new_series_is_told_once_per_person_not_per_lesson(db: Session) -> None:
    b, t, s = branch(db), teacher(db), student(db)
    mother = contacts.guardian(db, s.id)
    own = contacts.teacher_contact(db, t.id)
    series_id = bookings.series(
        db, branch_id=b.id, teacher_id=t.id, student_id=s.id, start_time="17:00",
        end_time="18:00", weekdays=["mon", "thu"],
    )  # fmt: skip
    bookings.generate(db, horizon_days=21, series_id=series_id)
    made = len(bookings.made_by(db, series_id))
    assert made >= 5
    assert sorted(_kinds(db)) == sorted(
        [(mother.id, NoticeKind.NEW_SERIES, series_id, None),
         (own.id, NoticeKind.NEW_SERIES, series_id, None)]
    )  # fmt: skip
    bookings.generate(db, horizon_days=60, series_id=series_id)  # the horizon moves on
    assert len(bookings.made_by(db, series_id)) > made
    assert len(_kinds(db)) == 2, "later lessons of the series are not news"


def test_a_group_series_tells_each_guardian_once_and_nobody_inactive_or_imported(
    db: Session,
) -> None:
    b, t = branch(db), teacher(db)
    kids = [student(db) for _ in range(3)]
    both = contacts.guardian(db, kids[0].id, kids[1].id)  # the siblings' mother: once
    other = contacts.guardian(db, kids[2].id)
    contacts.guardian(db, kids[2].id, active=False)  # a contact switched off: no intent
    group_id = bookings.series(
        db, branch_id=b.id, teacher_id=t.id, student_ids=[k.id for k in kids],
        start_time="17:00", end_time="18:00", weekdays=["mon"],
    )  # fmt: skip
    imported_id = bookings.series(
        db, branch_id=b.id, teacher_id=t.id, student_id=kids[0].id, start_time="19:00",
        end_time="20:00", weekdays=["tue"],
    )  # fmt: skip
    db.execute(
        text("UPDATE class_series SET legacy_id = 'old-1' WHERE id = :id"), {"id": imported_id}
    )
    bookings.generate(db, horizon_days=21)
    assert bookings.made_by(db, group_id)
    assert bookings.made_by(db, imported_id)
    assert sorted(_kinds(db)) == sorted(
        [(both.id, NoticeKind.NEW_SERIES, group_id, None),
         (other.id, NoticeKind.NEW_SERIES, group_id, None)]
    )  # fmt: skip


def test_a_new_series_message_names_its_first_lessons(db: Session) -> None:
    b, t, s = branch(db), teacher(db), student(db, name="Yuki")
    mother = contacts.guardian(db, s.id, language="en")
    today = db.scalar(text("SELECT (now() AT TIME ZONE 'Asia/Tokyo')::date"))
    first = today + timedelta(days=7 + (7 - today.weekday()) % 7)  # a Monday, a week or more on
    series_id = bookings.series(db, branch_id=b.id, teacher_id=t.id, student_id=s.id,
                                first_date=first.isoformat(), weekdays=["mon"],
                                start_time="17:00", end_time="18:00")  # fmt: skip
    horizon = (first - bookings.NOW.date()).days + 15
    bookings.generate(db, horizon_days=horizon, series_id=series_id)
    db.execute(text("UPDATE notice_intents SET created_at = now() - interval '1 hour'"))
    drain.drain(db, now=datetime.now(UTC) + timedelta(hours=1))
    message = db.scalars(select(NoticeMessage).where(NoticeMessage.contact_id == mother.id)).one()
    assert message.kinds == ["new_series"]
    days = [format_date(d, "EEE d MMM", locale="en") for d in (first, first + timedelta(7))]
    assert f"New lessons: Yuki, first on {days[0]} 17:00, {days[1]} 17:00" in message.body_text


def test_reminders_go_for_tomorrows_lessons_booked_before_the_reminder_time(db: Session) -> None:
    b, t, s = branch(db), teacher(db), student(db)
    mother = contacts.guardian(db, s.id)
    tomorrow = datetime.now(UTC).astimezone().date() + timedelta(days=1)
    zone_today = db.scalar(text("SELECT (now() AT TIME ZONE 'Asia/Tokyo')::date"))
    tomorrow = zone_today + timedelta(days=1)
    lesson = bookings.one_off(db, branch_id=b.id, teacher_id=t.id, student_id=s.id,
                              date=tomorrow.isoformat())  # fmt: skip
    db.execute(text("UPDATE branches SET reminder_time = '23:59:59' WHERE id = :b"), {"b": b.id})
    assert intents.reminders(db) == 0, "the reminder time has not come"
    db.execute(text("UPDATE branches SET reminder_time = '00:00' WHERE id = :b"), {"b": b.id})
    db.execute(text("UPDATE class_sessions SET created_at = now() - interval '1 day'"))
    assert intents.reminders(db) == 1
    assert intents.reminders(db) == 0, "once per lesson"
    assert _kinds(db) == [(mother.id, NoticeKind.REMINDER, None, None)]
    late = bookings.one_off(db, branch_id=b.id, teacher_id=t.id, student_id=s.id,
                            date=tomorrow.isoformat(), start_time="20:00",
                            end_time="20:50")  # fmt: skip
    assert intents.reminders(db) == 0, "booked after the reminder time: no reminder"
    assert late.id != lesson.id


def test_a_reminder_for_a_lesson_moved_since_is_not_sent(db: Session) -> None:
    b, t, s = branch(db), teacher(db), student(db)
    contacts.guardian(db, s.id)
    zone_today = db.scalar(text("SELECT (now() AT TIME ZONE 'Asia/Tokyo')::date"))
    lesson = bookings.one_off(db, branch_id=b.id, teacher_id=t.id, student_id=s.id,
                              date=(zone_today + timedelta(days=1)).isoformat())  # fmt: skip
    db.execute(text("UPDATE branches SET reminder_time = '00:00'"))
    db.execute(text("UPDATE class_sessions SET created_at = now() - interval '1 day'"))
    intents.reminders(db)
    bookings.move(db, lesson.id, date=(zone_today + timedelta(days=2)).isoformat(),
                  start_time="18:00", end_time="19:00")  # fmt: skip
    drain.drain(db, now=datetime.now(UTC) + timedelta(hours=1))
    message = db.scalars(select(NoticeMessage)).one()
    assert message.kinds == ["move"], "the move is told; the stale reminder is not"
    reasons = db.scalars(select(NoticeIntent.dropped).where(NoticeIntent.kind == "reminder"))
    assert reasons.all() == ["changed"]


def test_a_credit_is_told_when_issued_used_and_about_to_expire(db: Session) -> None:
    b, t, s = branch(db), teacher(db), student(db)
    mother = contacts.guardian(db, s.id)
    today = db.scalar(text("SELECT (now() AT TIME ZONE 'Asia/Tokyo')::date"))
    row = make.credit(db, branch_id=b.id, teacher_id=t.id, student_id=s.id,
                      absence=today - timedelta(days=3),
                      expires_on=today + timedelta(days=5))  # fmt: skip
    assert (mother.id, NoticeKind.CREDIT_ISSUED, None, row.id) in _kinds(db)
    assert intents.credits_expiring(db, days=4) == 0, "five days left: not yet"
    assert intents.credits_expiring(db, days=7) == 1
    assert intents.credits_expiring(db, days=7) == 0, "once per credit"
    make.make_up(db, row, teacher_id=t.id, day=today + timedelta(days=1))
    assert intents.credits_expiring(db, days=7) == 0
    assert [k for _, k, _, _ in _kinds(db)] == [
        NoticeKind.CREDIT_ISSUED, NoticeKind.CREDIT_EXPIRING, NoticeKind.CREDIT_USED
    ]  # fmt: skip


def test_a_branch_sets_its_reminder_time_and_bad_input_names_the_field(
    client: TestClient, world: World
) -> None:
    url = f"/api/branches/{world.branch_a}/reminder-time"
    bad = client.post(url, json={"time": "25:00"}, headers=bearer(world.admin))
    assert bad.status_code == 422
    assert "time" in bad.text
    done = client.post(url, json={"time": "19:30"}, headers=bearer(world.admin))
    assert done.status_code == 200, done.text
    assert done.json()["reminder_time"] == "19:30:00"
    other = client.post(
        f"/api/branches/{world.branch_b}/reminder-time", json={"time": "19:30"},
        headers=bearer(world.staff_a),
    )  # fmt: skip
    assert other.status_code in (403, 404), "another branch's staff cannot"


def test_the_branch_page_sets_the_reminder_time_and_names_a_bad_one(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    make_user(committed_engine, "clerk", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "clerk") == 303
    page = client.get(f"/branches/{world.branch_a}/periods")
    assert 'value="18:00"' in page.text  # the default, shown in the form
    url = f"/branches/{world.branch_a}/reminder-time"
    bad = client.post(url, data={"csrf_token": csrf_of(page.text), "time": "25:00"})
    assert bad.status_code == 422
    assert 'id="time-error"' in bad.text
    assert 'value="25:00"' in bad.text, "what was typed stays in the box"
    with session_scope(committed_engine) as s:
        assert s.get(Branch, world.branch_a).reminder_time == time(18, 0)  # type: ignore[union-attr]
    done = client.post(url, data={"csrf_token": csrf_of(page.text), "time": "19:30"},
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    shown = client.get(done.headers["location"])
    assert 'value="19:30"' in shown.text
    assert 'id="done"' in shown.text
    other = client.post(f"/branches/{world.branch_b}/reminder-time",
                        data={"csrf_token": csrf_of(page.text), "time": "07:00"})  # fmt: skip
    assert other.status_code in (403, 404), "another branch's staff cannot"
    with session_scope(committed_engine) as s:
        assert s.get(Branch, world.branch_b).reminder_time == time(18, 0)  # type: ignore[union-attr]
