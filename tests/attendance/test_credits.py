"""Attendance and the make-up (振替) credit ledger through the API: an absence notified
before the lesson earns one credit, once; a booking uses it once; a cancelled make-up
gives it back; a correction revokes it, or flags it when it was used; the balance is the
sum of the entries, which are never changed."""

from __future__ import annotations

import multiprocessing
import os
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.exc import DBAPIError

from komawari.attendance import credits
from komawari.attendance import service as attendance
from komawari.attendance.enums import AttendanceState
from komawari.attendance.models import Credit, CreditEntry
from komawari.attendance.schemas import MarkIn
from komawari.audit.service import Actor
from komawari.db.engine import session_scope
from komawari.sessions import service as sessions
from komawari.sessions.models import ClassSession
from komawari.sessions.schemas import SessionCreate
from tests.factories.world import World, bearer, one_off_body

WHO = Actor("test", "office")


def _book(client: TestClient, world: World, **changes: Any) -> dict[str, Any]:
    answer = client.post(
        "/api/class-sessions", headers=bearer(world.staff_a), json=one_off_body(world, **changes)
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _mark(client: TestClient, world: World, lesson: int, state: str, **extra: Any) -> Any:
    mark = {"student_id": world.student_1, "state": state, **extra}
    return client.post(
        f"/api/class-sessions/{lesson}/attendance",
        headers=bearer(world.staff_a),
        json={"marks": [mark]},
    )


def _credits(client: TestClient, world: World) -> dict[str, Any]:
    answer = client.get(f"/api/students/{world.student_1}/credits", headers=bearer(world.staff_a))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_an_absence_notified_before_the_lesson_earns_one_credit_once(
    client: TestClient, world: World
) -> None:
    lesson = _book(client, world)["id"]
    first = _mark(client, world, lesson, "absent_notified")
    assert first.status_code == 200, first.text
    assert len(first.json()["credits_issued"]) == 1
    again = _mark(client, world, lesson, "absent_notified")
    assert again.json()["credits_issued"] == []
    found = _credits(client, world)
    assert found["balance"] == 1
    assert [e["kind"] for e in found["entries"]] == ["issue"]
    day = date.fromisoformat(one_off_body(world)["date"])
    nxt = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    last = (nxt.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    assert found["credits"][0]["expires_on"] == last.isoformat(), "the end of the next month"


def test_no_credit_without_notice_or_with_a_notice_after_the_start(
    client: TestClient, world: World
) -> None:
    lesson = _book(client, world)["id"]
    assert _mark(client, world, lesson, "absent").json()["credits_issued"] == []
    past = _book(client, world, date=(date.today() - timedelta(days=7)).isoformat())["id"]
    late = _mark(client, world, past, "absent_notified")  # told now, after it started
    assert late.json()["credits_issued"] == []
    assert _credits(client, world)["balance"] == 0


def test_a_notice_from_the_future_is_refused_and_changes_nothing(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    lesson = _book(client, world)["id"]
    future = (date.today() + timedelta(days=400)).isoformat() + "T10:00:00+09:00"
    answer = _mark(client, world, lesson, "absent_notified", notified_at=future)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["code"] == "attendance.notice-in-future"
    with session_scope(committed_engine) as s:
        assert s.scalar(select(func.count()).select_from(Credit)) == 0


def test_a_make_up_lesson_uses_the_credit_once_and_a_cancelled_one_gives_it_back(
    client: TestClient, world: World
) -> None:
    lesson = _book(client, world)["id"]
    credit = _mark(client, world, lesson, "absent_notified").json()["credits_issued"][0]
    makeup = _book(client, world, start_time="10:00", end_time="11:00", credit_id=credit)
    assert _credits(client, world)["balance"] == 0
    twice = client.post(
        "/api/class-sessions",
        headers=bearer(world.staff_a),
        json=one_off_body(world, start_time="12:00", end_time="13:00", credit_id=credit),
    )
    assert twice.status_code == 422
    assert twice.json()["errors"][0]["code"] == "credit.in-use"
    listed = client.get(
        "/api/class-sessions",
        headers=bearer(world.staff_a),
        params={"date": one_off_body(world)["date"]},
    ).json()["items"]
    assert {x["start_time"] for x in listed} == {"18:00", "10:00"}, (
        "the refused booking made no lesson"
    )
    cancel = client.post(
        f"/api/class-sessions/{makeup['id']}/cancel",
        headers=bearer(world.staff_a),
        json={"reason": "teacher ill"},
    )
    assert cancel.status_code == 200
    found = _credits(client, world)
    assert found["balance"] == 1
    assert [e["kind"] for e in found["entries"]] == ["issue", "use", "release"]
    again = _book(client, world, start_time="14:00", end_time="15:00", credit_id=credit)
    assert again["id"]
    assert _credits(client, world)["balance"] == 0


def test_a_correction_revokes_an_unused_credit_and_flags_a_used_one(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    unused = _book(client, world)["id"]
    _mark(client, world, unused, "absent_notified")
    corrected = _mark(client, world, unused, "present").json()
    assert len(corrected["credits_revoked"]) == 1
    assert _credits(client, world)["balance"] == 0
    used = _book(client, world, start_time="08:00", end_time="09:00")["id"]
    credit = _mark(client, world, used, "absent_notified").json()["credits_issued"][0]
    _book(client, world, start_time="10:00", end_time="11:00", credit_id=credit)
    flagged = _mark(client, world, used, "present").json()
    assert flagged["credits_flagged"] == [credit]
    assert flagged["credits_revoked"] == []
    with session_scope(committed_engine) as s:
        row = s.get_one(Credit, credit)
        assert row.flagged_at is not None
        assert "present" in (row.flag_reason or "")


def test_the_monthly_cap_stops_the_third_credit(client: TestClient, world: World) -> None:
    month = (date.today().replace(day=1) + timedelta(days=62)).replace(day=1)
    issued = []
    for day in (3, 10, 17):
        lesson = _book(client, world, date=month.replace(day=day).isoformat())["id"]
        issued += _mark(client, world, lesson, "absent_notified").json()["credits_issued"]
    assert len(issued) == 2
    following = _book(client, world, date=(month + timedelta(days=40)).isoformat())["id"]
    assert len(_mark(client, world, following, "absent_notified").json()["credits_issued"]) == 1


def test_entries_are_never_changed_or_deleted(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    lesson = _book(client, world)["id"]
    _mark(client, world, lesson, "absent_notified")
    for statement in ("UPDATE credit_entries SET amount = 5", "DELETE FROM credit_entries"):
        with pytest.raises(DBAPIError, match="append-only"), session_scope(committed_engine) as s:
            s.execute(text(statement))


def test_expiry_ends_unused_credits_once_and_spares_one_in_use(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    unused = _book(client, world)["id"]
    spare = _mark(client, world, unused, "absent_notified").json()["credits_issued"][0]
    used = _book(client, world, start_time="08:00", end_time="09:00")["id"]
    busy = _mark(client, world, used, "absent_notified").json()["credits_issued"][0]
    _book(client, world, start_time="10:00", end_time="11:00", credit_id=busy)
    with session_scope(committed_engine) as s:
        expires = s.get_one(Credit, spare).expires_on
        assert credits.expire_due(s, expires, WHO) == [], "not before its last day has passed"
        assert credits.expire_due(s, expires + timedelta(days=1), WHO) == [spare]
        assert credits.expire_due(s, expires + timedelta(days=2), WHO) == []
    found = _credits(client, world)
    assert [e["kind"] for e in found["entries"] if e["credit_id"] == spare] == ["issue", "expire"]
    assert found["balance"] == 0


def _in_child(url: str, job: str, args: tuple[Any, ...], start: Any, out: Any) -> None:
    """One process of a race: its own engine, then os._exit (the parent's pool is not touched)."""
    code = 0
    try:
        engine = create_engine(url, pool_size=1, max_overflow=0)
        start.wait(30)
        with session_scope(engine) as s:
            if job == "mark":
                lesson = s.get_one(ClassSession, args[0])
                attendance.mark(
                    s,
                    lesson,
                    [MarkIn(student_id=args[1], state=AttendanceState.ABSENT_NOTIFIED)],
                    WHO,
                )
            else:
                sessions.create_one_off(
                    s, session_in=SessionCreate.model_validate(args[0]), actor=WHO
                )
        out.put("done")
    except Exception as exc:
        out.put(type(exc).__name__)
    finally:
        os._exit(code)


def _race(url: str, job: str, each: list[tuple[Any, ...]]) -> list[str]:
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Barrier(len(each)), ctx.SimpleQueue()  # no feeder thread: os._exit
    procs = [ctx.Process(target=_in_child, args=(url, job, a, start, out)) for a in each]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    results = [out.get() for _ in procs if not out.empty()]
    return sorted(results)


def test_sixteen_processes_recording_one_absence_make_one_credit(
    client: TestClient, world: World, committed_engine: Engine, database_url: str
) -> None:
    lesson = _book(client, world)["id"]
    results = _race(database_url, "mark", [(lesson, world.student_1)] * 16)
    assert results.count("done") == 16, results
    with session_scope(committed_engine) as s:
        assert s.scalar(select(func.count()).select_from(Credit)) == 1
        assert s.scalar(select(func.count()).select_from(CreditEntry)) == 1


def test_sixteen_processes_booking_with_one_credit_make_one_lesson(
    client: TestClient, world: World, committed_engine: Engine, database_url: str
) -> None:
    lesson = _book(client, world)["id"]
    credit = _mark(client, world, lesson, "absent_notified").json()["credits_issued"][0]
    bodies = [
        (
            one_off_body(
                world,
                date=(
                    date.fromisoformat(one_off_body(world)["date"]) + timedelta(days=1)
                ).isoformat(),
                start_time=f"{6 + i:02d}:00",
                end_time=f"{7 + i:02d}:00",  # as long as the lesson missed
                credit_id=credit,
            ),
        )
        for i in range(16)
    ]
    results = _race(database_url, "book", bodies)
    assert results.count("done") == 1, results
    with session_scope(committed_engine) as s:
        made = s.scalar(
            select(func.count()).select_from(ClassSession).where(ClassSession.id != lesson)
        )
        uses = s.scalar(
            select(func.count()).select_from(CreditEntry).where(CreditEntry.kind == "use")
        )
    assert (made, uses) == (1, 1)
