"""Locks per resource: writers on disjoint resources run in parallel, verdicts stay the rule's.

Real connections that commit: each writer is a thread with its own session.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time
from functools import partial
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from komawari.audit.service import Actor
from komawari.db.registry import Branch, Student, Teacher
from komawari.errors import KomawariError
from komawari.generation import job
from komawari.generation import service as generation
from komawari.generation.enums import RunTrigger
from komawari.sessions import locks
from komawari.sessions import service as sessions
from komawari.sessions.schemas import SessionCreate, SessionMove
from tests import factories as f
from tests.sessions.verdicts import assert_verdicts_follow_the_rule

pytestmark = pytest.mark.concurrency

ACTOR = Actor("test", "pytest")
DAY = date(2026, 12, 3)
NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


def _people(engine: Engine, teachers: int, students: int, rooms: int) -> dict[str, list[int]]:
    with Session(engine) as db, db.begin():
        b = f.branch(db)
        return {
            "branch": [b.id],
            "teachers": [f.teacher(db).id for _ in range(teachers)],
            "students": [f.student(db).id for _ in range(students)],
            "rooms": [f.room(db, b).id for _ in range(rooms)],
        }


def _book(
    db: Session, who: dict[str, list[int]], t: int, s: int, r: int | None, start: str, end: str
) -> int:
    data = SessionCreate(
        branch_id=who["branch"][0],
        teacher_id=t,
        student_id=s,
        room_id=r,
        date=DAY,
        start_time=start,
        end_time=end,
    )
    return sessions.create_one_off(db, session_in=data, actor=ACTOR).id


def _in_own_transaction(engine: Engine, work: Callable[[Session], object]) -> str:
    """Run `work` in a transaction of its own; say how it ended."""
    try:
        with Session(engine) as db, db.begin():
            work(db)
        return "committed"
    except KomawariError:
        return "refused"
    except OperationalError as exc:  # a deadlock on a late lock: the caller retries
        if getattr(exc.orig, "sqlstate", None) != "40P01":
            raise
        return "deadlock"


def _random_writer(engine: Engine, who: dict[str, list[int]], seed: int, barrier: object) -> None:
    rnd = random.Random(seed)
    barrier.wait()  # type: ignore[attr-defined]
    for _ in range(12):
        op = rnd.random()
        with engine.connect() as conn:
            live = [
                int(i)
                for i in conn.execute(
                    text("SELECT id FROM class_sessions WHERE status <> 'CANCELLED'")
                ).scalars()
            ]
        hour = rnd.randrange(17, 20)
        start, end = f"{hour}:{rnd.choice(['00', '30'])}", f"{hour + 1}:{rnd.choice(['00', '15'])}"
        work: Callable[[Session], object]
        if op < 0.5 or not live:
            t, s = rnd.choice(who["teachers"]), rnd.choice(who["students"])
            r = rnd.choice([*who["rooms"], None])
            work = partial(_book, who=who, t=t, s=s, r=r, start=start, end=end)
        elif op < 0.75 or not who["rooms"]:
            work = partial(sessions.cancel, session_id=rnd.choice(live), reason="r", actor=ACTOR)
        else:
            move = SessionMove(start_time=start, end_time=end, room_id=rnd.choice(who["rooms"]))
            work = partial(sessions.move, session_id=rnd.choice(live), move_in=move, actor=ACTOR)
        _in_own_transaction(engine, work)


def test_racing_books_cancels_and_moves_leave_every_verdict_as_the_rule_says(
    committed_engine: Engine,
) -> None:
    # Few resources, one evening: most writers share something, some share nothing.
    who = _people(committed_engine, teachers=4, students=6, rooms=2)
    barrier = threading.Barrier(8)
    with ThreadPoolExecutor(8) as pool:
        for fut in [
            pool.submit(_random_writer, committed_engine, who, seed, barrier) for seed in range(8)
        ]:
            fut.result()
    assert assert_verdicts_follow_the_rule(committed_engine) > 30


def test_cancels_and_moves_racing_with_bookings_that_share_only_a_student(
    committed_engine: Engine,
) -> None:
    who = _people(committed_engine, teachers=16, students=1, rooms=0)
    (s,) = who["students"]
    for round_ in range(6):
        day_teachers = who["teachers"][round_ * 2 : round_ * 2 + 2] + who["teachers"][12:]
        with Session(committed_engine) as db, db.begin():
            first = _book(db, who, day_teachers[0], s, None, "18:00", "19:00")
        # One writer cancels (or moves away) the student's lesson while others book the
        # same student with other teachers: they share only the student.
        barrier = threading.Barrier(4)

        def change(
            db: Session, first: int = first, round_: int = round_, barrier: Any = barrier
        ) -> None:
            barrier.wait()
            if round_ % 2:
                sessions.cancel(db, first, reason="race", actor=ACTOR)
            else:
                move = SessionMove(start_time=time(7, 0), end_time=time(8, 0))
                sessions.move(db, first, move_in=move, actor=ACTOR)

        def book(db: Session, t: int, start: str, barrier: Any = barrier) -> None:
            barrier.wait()
            _book(db, who, t, s, None, start, "19:30")

        work: list[Callable[[Session], object]] = [
            change,
            *(
                lambda db, t=t, st=st: book(db, t, st)
                for t, st in zip(day_teachers[1:4], ["18:30", "18:15", "18:45"], strict=True)
            ),
        ]
        with ThreadPoolExecutor(4) as pool:
            ends = list(pool.map(lambda w: _in_own_transaction(committed_engine, w), work))
        assert ends == ["committed"] * 4
        assert_verdicts_follow_the_rule(committed_engine)
        with committed_engine.begin() as conn:
            conn.execute(text("TRUNCATE class_sessions, session_attendees, audit_events CASCADE"))


def test_generation_racing_with_bookings_and_cancels_keeps_the_rule(
    committed_engine: Engine,
) -> None:
    who = _people(committed_engine, teachers=3, students=4, rooms=0)
    with Session(committed_engine) as db, db.begin():
        b = db.get(Branch, who["branch"][0])
        for i in range(6):
            f.private_series(
                db,
                branch_row=b,
                teacher_row=db.get(Teacher, who["teachers"][i % 3]),
                student_row=db.get(Student, who["students"][i % 4]),
                weekdays=0b1111111,
                start=time(18, 0),
                end=time(19, 0),
                first_date=DAY,
            )
    scope = generation.Scope(now=NOW, horizon_days=20)
    barrier = threading.Barrier(4)

    def gen() -> None:
        barrier.wait()
        job.run(committed_engine, trigger=RunTrigger.SCHEDULE, scope=scope, batch_size=2)

    def other(seed: int) -> None:
        _random_writer(committed_engine, {**who, "rooms": []}, seed, barrier)

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(gen), *(pool.submit(other, seed) for seed in range(3))]
        for fut in futures:
            fut.result()
    assert assert_verdicts_follow_the_rule(committed_engine) > 60


def _holding(
    engine: Engine, take: Callable[[Session], object]
) -> tuple[Session, Callable[[], None]]:
    """Open a transaction that takes some locks and keeps them; return it and its end."""
    db = Session(engine)
    db.begin()
    take(db)
    return db, db.rollback


def _waits(engine: Engine, work: Callable[[Session], object]) -> bool:
    """Tell whether `work` has to wait for a lock (it gives up after 300 ms)."""
    try:
        with Session(engine) as db, db.begin():
            db.execute(text("SET LOCAL lock_timeout = '300ms'"))
            work(db)
        return False
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
            raise
        return True


def test_writers_that_share_no_resource_do_not_wait_for_each_other(
    committed_engine: Engine,
) -> None:
    who = _people(committed_engine, teachers=3, students=3, rooms=2)
    t, s, r = who["teachers"], who["students"], who["rooms"]
    holder, end = _holding(
        committed_engine, lambda db: _book(db, who, t[0], s[0], r[0], "18:00", "19:00")
    )
    try:
        # Other teacher, student and room: booked and committed while the first is open.
        assert not _waits(
            committed_engine, lambda db: _book(db, who, t[1], s[1], r[1], "18:00", "19:00")
        )
        # Sharing only the student, only the teacher, only the room: each waits.
        assert _waits(
            committed_engine, lambda db: _book(db, who, t[2], s[0], None, "09:00", "10:00")
        )
        assert _waits(
            committed_engine, lambda db: _book(db, who, t[0], s[2], None, "09:00", "10:00")
        )
        assert _waits(
            committed_engine, lambda db: _book(db, who, t[2], s[2], r[0], "09:00", "10:00")
        )
    finally:
        end()
        holder.close()
    assert not _waits(
        committed_engine, lambda db: _book(db, who, t[2], s[0], r[0], "09:00", "10:00")
    )


def test_a_move_locks_the_room_it_leaves_and_the_room_it_enters(committed_engine: Engine) -> None:
    who = _people(committed_engine, teachers=3, students=3, rooms=3)
    t, s, r = who["teachers"], who["students"], who["rooms"]
    with Session(committed_engine) as db, db.begin():
        moved = _book(db, who, t[0], s[0], r[0], "18:00", "19:00")
    move = SessionMove(start_time=time(20, 0), end_time=time(21, 0), room_id=r[1])
    holder, end = _holding(
        committed_engine, lambda db: sessions.move(db, moved, move_in=move, actor=ACTOR)
    )
    try:
        assert _waits(committed_engine, lambda db: locks.lock_resources(db, rooms=[r[0]]))
        assert _waits(committed_engine, lambda db: locks.lock_resources(db, rooms=[r[1]]))
        assert not _waits(committed_engine, lambda db: locks.lock_resources(db, rooms=[r[2]]))
    finally:
        end()
        holder.close()


def test_a_generation_batch_holds_its_series_resources_until_it_commits(
    committed_engine: Engine,
) -> None:
    who = _people(committed_engine, teachers=2, students=3, rooms=0)
    t, s = who["teachers"], who["students"]
    with Session(committed_engine) as db, db.begin():
        series = f.private_series(
            db,
            branch_row=db.get(Branch, who["branch"][0]),
            teacher_row=db.get(Teacher, t[0]),
            student_row=db.get(Student, s[0]),
            first_date=DAY,
        ).id
    scope = generation.Scope(series_id=series, now=NOW, horizon_days=14)
    holder, end = _holding(
        committed_engine,
        lambda db: generation.generate_in(db, trigger=RunTrigger.CLI, scope=scope),
    )
    try:
        assert _waits(
            committed_engine, lambda db: _book(db, who, t[1], s[0], None, "09:00", "10:00")
        )
        assert not _waits(
            committed_engine, lambda db: _book(db, who, t[1], s[1], None, "09:00", "10:00")
        )
    finally:
        end()
        holder.close()


def test_a_whole_schedule_writer_makes_every_writer_wait(committed_engine: Engine) -> None:
    who = _people(committed_engine, teachers=1, students=1, rooms=0)
    holder, end = _holding(committed_engine, locks.lock_whole_schedule)
    try:
        assert _waits(
            committed_engine,
            lambda db: _book(
                db, who, who["teachers"][0], who["students"][0], None, "09:00", "10:00"
            ),
        )
    finally:
        end()
        holder.close()


def test_a_neighbour_freed_through_two_resources_at_once_ends_confirmed(
    committed_engine: Engine,
) -> None:
    # N shares its teacher with M1 and its student with M2. Two writers cancel M1 and M2
    # at once; each holds only its own session's resources, and both re-evaluate N.
    who = _people(committed_engine, teachers=2, students=2, rooms=0)
    (t1, t2), (s1, s2) = who["teachers"], who["students"]
    for _ in range(8):
        with Session(committed_engine) as db, db.begin():
            m1 = _book(db, who, t1, s1, None, "18:00", "19:00")
            m2 = _book(db, who, t2, s2, None, "18:00", "19:00")
            n = _book(db, who, t1, s2, None, "18:30", "19:30")
        barrier = threading.Barrier(2)

        def cancel(db: Session, victim: int, barrier: Any = barrier) -> None:
            barrier.wait()
            sessions.cancel(db, victim, reason="race", actor=ACTOR)

        with ThreadPoolExecutor(2) as pool:
            ends = list(
                pool.map(
                    lambda v: _in_own_transaction(committed_engine, partial(cancel, victim=v)),
                    [m1, m2],
                )
            )
        assert ends == ["committed", "committed"]
        with committed_engine.connect() as conn:
            status = conn.execute(
                text("SELECT status::text, conflicts_with FROM class_sessions WHERE id = :n"),
                {"n": n},
            ).one()
        assert tuple(status) == ("CONFIRMED", [])
        with committed_engine.begin() as conn:
            conn.execute(text("TRUNCATE class_sessions, session_attendees, audit_events CASCADE"))
