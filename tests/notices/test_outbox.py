"""The outbox: every lesson change writes its intents in its own transaction, once per
person and change; the drain folds a person's changes into one message, and a change
undone before it is told tells nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from komawari.audit.service import Actor
from komawari.branches import service as branches
from komawari.branches.models import Branch
from komawari.notices import drain
from komawari.notices.enums import MessageStatus, NoticeKind
from komawari.notices.models import NoticeIntent, NoticeMessage
from komawari.sessions import service as sessions
from tests.factories import bookings, contacts
from tests.factories.branches import branch
from tests.factories.people import room, student, teacher

ACTOR = Actor("test", "pytest")
DAY = date(2030, 12, 5)  # a Thursday, far from any clock


def later() -> datetime:
    """A drain's now past every window."""
    return datetime.now(UTC) + timedelta(hours=2)


def _intents(db: Session) -> list[tuple[int, NoticeKind, int | None, int]]:
    rows = db.execute(
        select(
            NoticeIntent.contact_id,
            NoticeIntent.kind,
            NoticeIntent.session_id,
            NoticeIntent.version,
        ).order_by(NoticeIntent.id)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _lesson(db: Session, **extra: object) -> tuple[int, int, int, int]:
    """A private lesson with a guardian and a teacher contact: (lesson, branch, guardian,
    teacher's contact)."""
    b = branch(db)
    t, s = teacher(db), student(db)
    mother = contacts.guardian(db, s.id)
    own = contacts.teacher_contact(db, t.id)
    lesson = bookings.one_off(
        db, branch_id=b.id, teacher_id=t.id, student_id=s.id, date=DAY.isoformat(), **extra
    )
    return lesson.id, b.id, mother.id, own.id


def test_a_cancel_writes_one_intent_per_person_and_a_repeat_writes_none(db: Session) -> None:
    lesson, _, mother, own = _lesson(db)
    assert _intents(db) == [], "booking a one-off tells nobody by itself"
    bookings.cancel(db, lesson)
    assert sorted(_intents(db)) == sorted(
        [(mother, NoticeKind.CANCEL, lesson, 2), (own, NoticeKind.CANCEL, lesson, 2)]
    )
    db.execute(
        text("UPDATE class_sessions SET status = 'CANCELLED' WHERE id = :id"), {"id": lesson}
    )
    assert len(_intents(db)) == 2, "the same state again is no change"


def test_the_unique_key_refuses_a_second_intent_for_one_change(db: Session) -> None:
    lesson, branch_id, mother, _ = _lesson(db)
    bookings.cancel(db, lesson)
    again = db.execute(
        text(
            "INSERT INTO notice_intents (contact_id, kind, session_id, version, branch_id)"
            " VALUES (:c, 'cancel', :s, 2, :b)"
            " ON CONFLICT ON CONSTRAINT uq_notice_intents_key DO NOTHING RETURNING id"
        ),
        {"c": mother, "s": lesson, "b": branch_id},
    ).all()
    assert again == []


def test_each_kind_of_change_is_named(db: Session) -> None:
    lesson, branch_id, mother, _ = _lesson(db)
    other = teacher(db)
    moved = {"date": DAY.isoformat(), "start_time": "10:00", "end_time": "11:00"}
    bookings.move(db, lesson, **moved)
    db.execute(
        text("UPDATE class_sessions SET teacher_id = :t WHERE id = :id"),
        {"t": other.id, "id": lesson},
    )
    place = room(db, db.get_one(Branch, branch_id))
    db.execute(
        text("UPDATE class_sessions SET room_id = :r WHERE id = :id"), {"r": place.id, "id": lesson}
    )
    bookings.cancel(db, lesson)
    sessions.restore(db, lesson, actor=ACTOR)
    kinds = [k for c, k, _, _ in _intents(db) if c == mother]
    assert kinds == [
        NoticeKind.MOVE,
        NoticeKind.SUBSTITUTE,
        NoticeKind.ROOM,
        NoticeKind.CANCEL,
        NoticeKind.RESTORE,
    ]
    versions = [v for c, _, _, v in _intents(db) if c == mother]
    assert versions == sorted(set(versions)), "each change has its own version"


def test_a_closure_is_named_as_a_closure(db: Session) -> None:
    lesson, branch_id, mother, _ = _lesson(db)
    branches.add_closure(db, branch_id, DAY, reason="typhoon", actor=ACTOR)
    assert (mother, NoticeKind.CLOSURE, lesson, 2) in _intents(db)


def test_a_duplicate_row_and_quiet_bulk_work_tell_nobody(db: Session) -> None:
    lesson, branch_id, _, _ = _lesson(db)
    keeper = bookings.one_off(db, branch_id=branch_id, teacher_id=teacher(db).id,
                              student_id=student(db).id, date=DAY.isoformat())  # fmt: skip
    db.execute(
        text(
            "UPDATE class_sessions SET status = 'CANCELLED', cancel_reason = 'duplicate',"
            " duplicate_of_id = :k WHERE id = :id"
        ),
        {"k": keeper.id, "id": lesson},
    )
    assert _intents(db) == [], "a duplicate's removal changes no real lesson"
    db.execute(text("SET LOCAL komawari.notices = 'off'"))
    bookings.cancel(db, keeper.id)
    assert _intents(db) == []


def test_a_change_undone_before_the_drain_tells_nothing(db: Session) -> None:
    lesson, _, _mother, _own = _lesson(db)
    bookings.cancel(db, lesson)
    sessions.restore(db, lesson, actor=ACTOR)
    moved = {"date": DAY.isoformat(), "start_time": "10:00", "end_time": "11:00"}
    bookings.move(db, lesson, **moved)
    back = {"date": DAY.isoformat(), "start_time": "18:00", "end_time": "19:00"}
    bookings.move(db, lesson, **back)
    done = drain.drain(db, now=later())
    assert (done.messages, done.dropped) == (0, 8)
    assert db.scalars(select(NoticeIntent.dropped).distinct()).all() == ["undone"]


def test_a_change_told_gives_one_message_with_the_final_state(db: Session) -> None:
    lesson, _, mother, _ = _lesson(db)
    bookings.move(db, lesson, date=DAY.isoformat(), start_time="10:00", end_time="11:00")
    bookings.move(db, lesson, date=(DAY + timedelta(days=1)).isoformat(), start_time="12:00",
                  end_time="13:00")  # fmt: skip
    drain.drain(db, now=later())
    message = db.scalars(select(NoticeMessage).where(NoticeMessage.contact_id == mother)).one()
    assert message.status == MessageStatus.HELD, "no channel set up: kept, not sent"
    assert "12月5日(木) 18:00" in message.body_text
    assert "12月6日(金) 12:00-13:00" in message.body_text
    assert "10:00" not in message.body_text, "the middle state is not told"
    assert message.subject.endswith("\uff081\u4ef6\uff09"), "Japanese: (1 item)"


def test_the_window_holds_changes_that_fall_close_together(db: Session) -> None:
    lesson, _, _, _ = _lesson(db)
    bookings.cancel(db, lesson)
    assert drain.drain(db, now=datetime.now(UTC)).messages == 0, "inside the window: waits"
    assert drain.drain(db, now=later()).messages == 2


def test_quiet_hours_hold_a_message_unless_the_lesson_is_today(db: Session) -> None:
    b = branch(db)
    t, s = teacher(db), student(db)
    mother = contacts.guardian(db, s.id, quiet_start=time(21, 0), quiet_end=time(8, 0))
    tokyo_night = datetime(2030, 12, 3, 13, 30, tzinfo=UTC)  # 22:30 in Tokyo, Tuesday
    far = bookings.one_off(db, branch_id=b.id, teacher_id=t.id, student_id=s.id,
                           date=DAY.isoformat())  # fmt: skip
    db.execute(text("UPDATE notice_intents SET created_at = :at"), {"at": tokyo_night})
    bookings.cancel(db, far.id)
    db.execute(
        text("UPDATE notice_intents SET created_at = :at"), {"at": tokyo_night - timedelta(hours=1)}
    )
    held = drain.drain(db, now=tokyo_night)
    assert (held.messages, held.waiting) == (0, [mother.id])
    assert drain.drain(db, now=tokyo_night + timedelta(hours=10)).messages == 1, "08:30: sent"
    today = bookings.one_off(db, branch_id=b.id, teacher_id=t.id, student_id=s.id,
                             date="2030-12-03", start_time="23:00", end_time="23:50")  # fmt: skip
    bookings.cancel(db, today.id)
    db.execute(text("UPDATE notice_intents SET created_at = :at WHERE settled_at IS NULL"),
               {"at": tokyo_night - timedelta(hours=1)})  # fmt: skip
    assert drain.drain(db, now=tokyo_night).messages == 1, "a same-day change goes anyway"


def test_people_in_their_quiet_hours_do_not_hold_the_others_back(db: Session) -> None:
    b, t = branch(db), teacher(db)
    night = datetime(2030, 12, 3, 13, 30, tzinfo=UTC)  # 22:30 in Tokyo
    asleep, awake = student(db), student(db)
    sleeper = contacts.guardian(db, asleep.id, quiet_start=time(21, 0), quiet_end=time(8, 0))
    owl = contacts.guardian(db, awake.id)  # no quiet hours
    for s, start in ((asleep, "16:00"), (awake, "17:00")):
        lesson = bookings.one_off(db, branch_id=b.id, teacher_id=t.id, student_id=s.id,
                                  date=DAY.isoformat(), start_time=start,
                                  end_time=start[:2] + ":50")  # fmt: skip
        bookings.cancel(db, lesson.id)
    for who, hours in ((sleeper, 3), (owl, 2)):  # the sleeper's change is the older
        db.execute(text("UPDATE notice_intents SET created_at = :at WHERE contact_id = :c"),
                   {"at": night - timedelta(hours=hours), "c": who.id})  # fmt: skip
    first = drain.drain(db, now=night, limit=1)
    assert (first.messages, first.waiting) == (0, [sleeper.id]), "the oldest waits its morning"
    second = drain.drain(db, now=night, limit=1, skip=first.waiting)
    assert second.messages == 1
    told = db.scalars(select(NoticeMessage.contact_id)).all()
    assert told == [owl.id]


def test_a_guardian_of_two_children_gets_one_message_for_a_closure(db: Session) -> None:
    b = branch(db)
    t = teacher(db)
    yuki, ken = student(db, name="Yuki"), student(db, name="Ken")
    mother = contacts.guardian(db, yuki.id, ken.id, language="en")
    for s, start in ((yuki, "16:00"), (ken, "17:00")):
        bookings.one_off(db, branch_id=b.id, teacher_id=t.id, student_id=s.id,
                         date=DAY.isoformat(), start_time=start,
                         end_time=start[:2] + ":50")  # fmt: skip
    branches.add_closure(db, b.id, DAY, reason="typhoon", actor=ACTOR)
    drain.drain(db, now=later())
    [message] = db.scalars(select(NoticeMessage).where(NoticeMessage.contact_id == mother.id))
    assert message.subject == "News of your lessons (2)"
    assert message.body_text.count("No lesson (the school is closed)") == 2
    assert "Yuki" in message.body_text
    assert "Ken" in message.body_text
