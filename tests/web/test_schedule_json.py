"""The day's JSON, pre-serialised by the route, is the schema's own, in constant queries."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from komawari.audit.service import Actor
from komawari.db.engine import session_scope
from komawari.sessions import service as sessions
from komawari.sessions.schemas import BranchSchedule, SessionCreate
from tests.factories.world import World, bearer, next_weekday, series_body

# Inside the horizon from today, never in the past: the group series generates from today.
DAY = next_weekday(4)
SETUP = Actor("test", "setup")


def _book(engine: Engine, w: World, start: str, end: str, **changes: object) -> int:
    body = {
        "branch_id": w.branch_a,
        "teacher_id": w.teacher_1,
        "student_id": w.student_1,
        "date": DAY,
        "start_time": start,
        "end_time": end,
    } | changes
    with session_scope(engine) as s:
        return sessions.create_one_off(
            s, session_in=SessionCreate.model_validate(body), actor=SETUP
        ).id


def _day(client: TestClient, w: World, engine: Engine) -> tuple[bytes, int]:
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        answer = client.get(
            f"/api/branches/{w.branch_a}/schedule?date={DAY}", headers=bearer(w.admin)
        )
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    return answer.content, len(statements)


def test_the_json_is_the_schemas_own_and_the_query_count_does_not_grow(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    w = world
    _book(committed_engine, w, "16:00", "17:00")
    small, _ = _day(client, w, committed_engine)
    # More of everything the day shows: a clash with another branch's lesson, a room, a
    # cancelled lesson, a group with attendees.
    _book(committed_engine, w, "10:00", "11:00", branch_id=w.branch_b, room_id=w.room_b)
    _book(committed_engine, w, "10:30", "11:30", student_id=w.student_2, room_id=w.room_a)
    _book(committed_engine, w, "12:00", "13:00", student_id=w.student_3, teacher_id=w.teacher_2)
    gone = _book(committed_engine, w, "18:00", "19:00", student_id=w.student_2)
    with session_scope(committed_engine) as s:
        sessions.cancel(s, gone, reason="ill", actor=SETUP)
    group = series_body(
        w,
        kind="GROUP",
        student_id=None,
        teacher_id=w.teacher_2,
        title="Conversation",
        capacity=3,
        student_ids=[w.student_1, w.student_3],
        weekdays=[DAY.isoweekday()],
        first_date=DAY.isoformat(),
        last_date=DAY.isoformat(),
        start_time="14:00",
        end_time="15:00",
    )
    made = client.post("/api/class-series", json=group, headers=bearer(w.admin))
    assert made.status_code == 201, made.text
    body, some = _day(client, w, committed_engine)
    _book(committed_engine, w, "20:00", "21:00", teacher_id=w.teacher_2, branch_id=w.branch_b)
    _book(committed_engine, w, "20:30", "21:30", teacher_id=w.teacher_2, student_id=w.student_2)
    _book(committed_engine, w, "07:00", "08:00", student_id=w.student_3)
    _, more = _day(client, w, committed_engine)
    assert more == some, "no query per session, conflict, attendee or name"
    assert body == BranchSchedule.model_validate_json(body).model_dump_json().encode()
    assert body != small
    day = json.loads(body)
    entries = [e for t in day["teachers"] for e in t["sessions"]]
    assert day["counts"] == {"total": 5, "confirmed": 3, "conflicted": 1, "cancelled": 1}
    assert {e["title"]: e["student_ids"] for e in entries if e["kind"] == "GROUP"} == {
        "Conversation": sorted([w.student_1, w.student_3])
    }
    (clash,) = [e for e in entries if e["conflicts_with"]]
    assert clash["conflicts_with"][0]["branch_id"] == w.branch_b
    assert clash["room_name"] == "A1"
