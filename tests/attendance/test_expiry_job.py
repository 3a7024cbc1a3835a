"""Credits expire once, after their last day has passed at their own branch, whatever
runs the expiry (the periodic job, the command) and however often."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from komawari import queue
from komawari.attendance import credits, expiry
from komawari.attendance.enums import EntryKind
from komawari.attendance.models import CreditEntry
from komawari.audit.models import AuditEvent
from komawari.audit.service import Actor
from komawari.audit.words import actor_words, reason_words
from komawari.db.engine import session_scope
from komawari.errors import InvalidInput
from komawari.web import i18n
from tests.factories import aio, branches, people
from tests.factories import credits as make
from tests.factories.bookings import cancel

LAST_DAY = date(2026, 12, 31)
WHO = Actor("test", "office")


def _kinds(db: Session, credit_id: int) -> list[str]:
    rows = db.scalars(
        select(CreditEntry.kind).where(CreditEntry.credit_id == credit_id).order_by(CreditEntry.id)
    )
    return [k.value for k in rows]


def _one(
    db: Session, zone: str = "Asia/Tokyo", last: date = LAST_DAY, absence: date = date(2026, 11, 5)
) -> int:
    branch = branches.branch(db, time_zone=zone)
    teacher, student = people.teacher(db), people.student(db)
    row = make.credit(
        db,
        branch_id=branch.id,
        teacher_id=teacher.id,
        student_id=student.id,
        absence=absence,
        expires_on=last,
    )
    return row.id


def test_running_the_expiry_twice_expires_a_credit_once_and_audits_it(db: Session) -> None:
    credit = _one(db)
    with time_machine.travel(datetime(2027, 1, 2, 3, 0, tzinfo=UTC), tick=False):
        assert expiry.expire_everywhere(db, expiry.EXPIRY) == [credit]
        assert expiry.expire_everywhere(db, expiry.EXPIRY) == []
    assert _kinds(db, credit) == ["issue", "expire"]
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "credit.expire")).all()
    assert [(e.actor_type, e.details["credit_id"]) for e in events] == [("expiry", credit)]
    assert i18n.words(actor_words(events[0].actor_type, events[0].actor), "en") == (
        "make-up credit expiry"
    )
    assert i18n.words(reason_words(events[0].reason) or "", "en") == (
        "not used by its last day, Dec 31, 2026"
    )


def test_a_credit_is_not_expired_on_its_last_day(db: Session) -> None:
    credit = _one(db)
    # 23:59 on the last day in Tokyo.
    with time_machine.travel(datetime(2026, 12, 31, 14, 59, tzinfo=UTC), tick=False):
        assert expiry.expire_everywhere(db, expiry.EXPIRY) == []
    with time_machine.travel(datetime(2026, 12, 31, 15, 0, tzinfo=UTC), tick=False):
        assert expiry.expire_everywhere(db, expiry.EXPIRY) == [credit]


def test_a_credit_in_use_does_not_expire_and_expires_once_given_back(db: Session) -> None:
    branch = branches.branch(db)
    teacher, student = people.teacher(db), people.student(db)
    row = make.credit(
        db,
        branch_id=branch.id,
        teacher_id=teacher.id,
        student_id=student.id,
        absence=date(2026, 11, 5),
        expires_on=LAST_DAY,
    )
    makeup = make.make_up(db, row, teacher_id=teacher.id, day=date(2026, 12, 20))
    with time_machine.travel(datetime(2027, 1, 10, 3, 0, tzinfo=UTC), tick=False):
        assert expiry.expire_everywhere(db, expiry.EXPIRY) == []
        assert _kinds(db, row.id) == ["issue", "use"]
        cancel(db, makeup.id)  # the school cancels the make-up: the credit comes back
        assert _kinds(db, row.id) == ["issue", "use", "release"]
        assert expiry.expire_everywhere(db, expiry.EXPIRY) == [row.id]
    assert credits.balance(db, student.id).balance == 0


# Every credit's last day is 31 December. The first two instants are still 31 December in
# UTC, so an expiry reading UTC's date (or one zone's for every branch) fails one of them.
ZONES = ("Asia/Tokyo", "Pacific/Auckland", "America/Los_Angeles")
INSTANTS = [
    # Auckland is in 1 January already; Tokyo (21:00) and Los Angeles (04:00) are not.
    (datetime(2026, 12, 31, 12, 0, tzinfo=UTC), {"Pacific/Auckland"}),
    # Tokyo is in 1 January (05:00); Los Angeles (12:00) is not.
    (datetime(2026, 12, 31, 20, 0, tzinfo=UTC), {"Pacific/Auckland", "Asia/Tokyo"}),
    # 00:30 on 1 January in Los Angeles: every branch.
    (datetime(2027, 1, 1, 8, 30, tzinfo=UTC), set(ZONES)),
]


@pytest.mark.parametrize(("instant", "expired_at"), INSTANTS)
def test_each_branch_expires_its_credits_on_its_own_day(
    db: Session, instant: datetime, expired_at: set[str]
) -> None:
    made = {zone: _one(db, zone) for zone in ZONES}
    with time_machine.travel(instant, tick=False):
        # By UTC's day nothing would expire, until every branch is past the last day.
        assert instant.date() == LAST_DAY or expired_at == set(ZONES)
        expired = expiry.expire_everywhere(db, expiry.EXPIRY)
    assert sorted(expired) == sorted(made[zone] for zone in expired_at)


def test_a_given_day_expires_as_of_it_but_never_past_a_branchs_own_today(db: Session) -> None:
    tokyo = _one(db, "Asia/Tokyo")
    angeles = _one(db, "America/Los_Angeles")
    with time_machine.travel(datetime(2026, 12, 31, 20, 0, tzinfo=UTC), tick=False):
        # 1 January in Tokyo, still 31 December in Los Angeles.
        assert expiry.expire_everywhere(db, WHO, today=date(2026, 12, 31)) == []
        with pytest.raises(InvalidInput, match="has not come yet"):
            expiry.expire_everywhere(db, WHO, today=date(2027, 1, 2))
        assert expiry.expire_everywhere(db, WHO, today=date(2027, 1, 1)) == [tokyo]
    assert _kinds(db, angeles) == ["issue"]


def test_two_expiry_runs_at_once_expire_each_credit_once(committed_engine: Engine) -> None:
    with session_scope(committed_engine) as s:
        made = [_one(s) for _ in range(5)]
    results: list[int] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        barrier.wait(10)
        results.append(expiry.run(committed_engine))

    with time_machine.travel(datetime(2027, 1, 2, 3, 0, tzinfo=UTC), tick=False):
        threads = [threading.Thread(target=run) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert sum(results) == len(made)
    with session_scope(committed_engine) as s:
        ends = s.scalar(
            select(func.count())
            .select_from(CreditEntry)
            .where(CreditEntry.kind == EntryKind.EXPIRE)
        )
    assert ends == len(made)


def test_the_workers_periodic_task_expires_due_credits(committed_engine: Engine) -> None:
    with session_scope(committed_engine) as s:
        credit = _one(
            s, last=date(2020, 1, 31), absence=date(2020, 1, 9)
        )  # long past at every branch
    app = queue.build_app(committed_engine)

    async def one_tick() -> None:
        async with app.open_async():
            await app.tasks["attendance:expire_credits"].defer_async(timestamp=0)
            await app.run_worker_async(wait=False, install_signal_handlers=False)

    aio.run(one_tick())
    with session_scope(committed_engine) as s:
        kinds = _kinds(s, credit)
    assert kinds == ["issue", "expire"]
    with session_scope(committed_engine) as s:
        actor = s.scalars(
            select(AuditEvent.actor_type).where(AuditEvent.action == "credit.expire")
        ).all()
    assert actor == ["expiry"]
