"""The soak's end-of-run checks: a clean school passes; each planted fault is reported.

The school is made through the API, as the soak's clients make it (series of every
kind and their lifecycle, one-offs that clash and one that only touches, a branch in
another zone, enrolments, cancels, moves, closure days, a keyed create and its replay),
with every 2xx recorded in a ledger. Each fault is then planted with raw SQL (guards
dropped first where they would refuse it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from komawari_soak.checks import CheckReport, run_checks
from komawari_soak.ledger import Ack, Ledger, Replay, ServerError, Window
from tests.factories.world import World, bearer, next_weekday, series_body

ZERO = dict.fromkeys("12345", 0)


class Client:
    """Drives the API as a soak client does: every 2xx goes into the ledger."""

    def __init__(self, client: TestClient, token: str) -> None:
        self.client, self.headers, self.ledger = client, bearer(token), Ledger()

    def send(
        self, op: str, method: str, path: str, body: Any = None, key: str | None = None
    ) -> Any:
        headers = {**self.headers, **({"Idempotency-Key": key} if key else {})}
        sent = time.time()
        answer = self.client.request(method, path, json=body, headers=headers)
        assert answer.status_code < 300, answer.text
        self.ledger.requests += 1
        self.ledger.acks.append(
            Ack(op, method, path, answer.status_code, body, answer.json(), key, sent, time.time())
        )
        return answer.json()


@dataclass
class School:
    ledger: Ledger
    series: int  # private, Thursdays 20:00-21:30, teacher 1 and student 1
    group: int
    paused: int  # paused, then resumed
    held: int  # paused (its future lessons cancelled)
    short: int  # extended
    ending: int  # ended
    clashing: int  # a one-off CONFLICTED by the series' lesson (teacher)
    touching: int  # a one-off ending where the series' lesson starts: CONFIRMED
    cancelled: int  # a lesson of the series, cancelled
    moved: int  # a lesson of the series, moved an hour earlier
    closed_day: date  # branch A closed (a group lesson cancelled)
    reopened_day: date  # closed then reopened


def _thursday(weeks: int) -> date:
    return next_weekday(4, weeks=weeks)


def make_school(client: TestClient, world: World, engine: Engine) -> School:
    """Build the clean school through the API; return what the faults are planted on."""
    api = Client(client, world.admin)
    created = "series.create", "POST", "/api/class-series"
    body = series_body(world, first_date=date.today().isoformat())
    first = api.send(*created, body, key="create-1")
    again = client.post(
        "/api/class-series", json=body, headers={**api.headers, "Idempotency-Key": "create-1"}
    )
    api.ledger.replays.append(
        Replay("create-1", "/api/class-series", 201, first, 201, again.json())
    )
    sid = first["id"]
    london = client.post(
        "/api/branches", json={"name": "London", "time_zone": "Europe/London"}, headers=api.headers
    ).json()["id"]

    group = api.send(
        *created,
        series_body(
            world,
            kind="GROUP",
            student_id=None,
            teacher_id=world.teacher_2,
            title="Conversation",
            capacity=3,
            student_ids=[world.student_2],
            room_id=world.room_a,
            weekdays=["sat"],
            start_time="10:00",
            end_time="11:00",
        ),
    )["id"]
    enrol = "series.enrol", "POST", f"/api/class-series/{group}/enrolments"
    api.send(*enrol, {"student_id": world.student_3, "from_date": date.today().isoformat()})
    unenrol = "series.unenrol", "POST", f"/api/class-series/{group}/unenrol"
    later = next_weekday(6, weeks=5).isoformat()
    api.send(*unenrol, {"student_id": world.student_3, "from_date": later})
    api.send(*enrol, {"student_id": world.student_1, "from_date": later})

    # Clashes: by teacher, in another zone (11:30 in London is 20:30 in Tokyo in winter
    # and 19:30 in summer, inside 20:00-21:30 or touching it... so 12:00 London is used:
    # 21:00 or 20:00 in Tokyo, inside the lesson either way), by a group attendee.
    one_off = "session.create", "POST", "/api/class-sessions"
    day = _thursday(1)
    lesson = {"branch_id": world.branch_a, "teacher_id": world.teacher_1, "date": day.isoformat()}
    clashing = api.send(
        *one_off, {**lesson, "student_id": world.student_2, "start_time": "20:30",
                   "end_time": "21:00"},
    )["id"]  # fmt: skip
    touching = api.send(
        *one_off, {**lesson, "student_id": world.student_3, "start_time": "19:00",
                   "end_time": "20:00"},
    )["id"]  # fmt: skip
    api.send(
        *one_off, {**lesson, "branch_id": london, "student_id": world.student_3,
                   "start_time": "12:00", "end_time": "12:15"},
    )  # fmt: skip
    saturday = next_weekday(6, weeks=1).isoformat()
    api.send(  # the room only (student 1 joins the group later)
        *one_off,
        {**lesson, "date": next_weekday(6, weeks=2).isoformat(), "student_id": world.student_1,
         "room_id": world.room_a, "start_time": "10:15", "end_time": "10:45"},
    )  # fmt: skip
    api.send(
        *one_off, {**lesson, "date": saturday, "student_id": world.student_2,
                   "start_time": "10:30", "end_time": "11:30"},
    )  # fmt: skip

    with engine.begin() as conn:
        lessons = dict(
            conn.execute(
                text("SELECT original_date, id FROM class_sessions WHERE series_id = :s"),
                {"s": sid},
            ).all()
        )
    cancelled, moved = lessons[_thursday(2)], lessons[_thursday(3)]
    api.send("session.cancel", "POST", f"/api/class-sessions/{cancelled}/cancel",
             {"reason": "ill"})  # fmt: skip
    api.send("session.move", "POST", f"/api/class-sessions/{moved}/move", {"start_time": "19:00"})

    action = "/api/class-series/{}/{}"
    mondays = series_body(world, teacher_id=world.teacher_2, weekdays=["mon"],
                          start_time="17:00", end_time="18:00")  # fmt: skip
    paused = api.send(*created, mondays)["id"]
    api.send("series.pause", "POST", action.format(paused, "pause"), {"reason": "break"})
    api.send("series.resume", "POST", action.format(paused, "resume"), None)
    held = api.send(*created, {**mondays, "start_time": "16:00", "end_time": "17:00"})["id"]
    api.send("series.pause", "POST", action.format(held, "pause"), {"cancel_future": True})
    short = api.send(
        *created, {**mondays, "start_time": "15:00", "end_time": "16:00",
                   "last_date": next_weekday(1, weeks=2).isoformat()},
    )["id"]  # fmt: skip
    api.send("series.extend", "POST", action.format(short, "extend"),
             {"last_date": next_weekday(1, weeks=4).isoformat()})  # fmt: skip
    ending = api.send(*created, {**mondays, "start_time": "14:00", "end_time": "15:00"})["id"]
    api.send("series.end", "POST", action.format(ending, "end"),
             {"last_date": next_weekday(1, weeks=3).isoformat(), "reason": "moving"})  # fmt: skip
    changing = api.send(*created, {**mondays, "start_time": "13:00", "end_time": "14:00"})["id"]
    api.send("series.change_from", "POST", action.format(changing, "change-from"),
             {"from_date": next_weekday(1, weeks=2).isoformat(), "start_time": "12:00",
              "end_time": "12:45"})  # fmt: skip

    closures = f"/api/branches/{world.branch_a}/closures"
    closed, reopened = next_weekday(6, weeks=3), next_weekday(6, weeks=4)
    api.send("closure.create", "POST", closures, {"date": closed.isoformat(), "reason": "x"})
    api.send("closure.create", "POST", closures, {"date": reopened.isoformat(), "reason": "y"})
    api.send("closure.delete", "DELETE", f"{closures}/{reopened.isoformat()}", None)
    return School(
        api.ledger,
        sid,
        group,
        paused,
        held,
        short,
        ending,
        clashing,
        touching,
        cancelled,
        moved,
        closed,
        reopened,
    )


@pytest.fixture
def school(client: TestClient, world: World, committed_engine: Engine) -> School:
    return make_school(client, world, committed_engine)


def plant(engine: Engine, *statements: str, **params: object) -> None:
    """Run raw SQL statements in one committed transaction."""
    with engine.begin() as conn:
        for sql in statements:
            conn.execute(text(sql), params)


def check(database_url: str, ledger: Ledger) -> CheckReport:
    report = run_checks(database_url, ledger)
    assert report.as_json()["passed"] == report.passed
    return report


def only(report: CheckReport, **expected: object) -> None:
    """Assert the report finds exactly `expected` (promise counts as p1..p5) and nothing else."""
    want: dict[str, object] = {
        "lost_writes": 0,
        "duplicates": 0,
        "promise_violations": ZERO | {k[1]: v for k, v in expected.items() if k[0] == "p"},
        "idempotency_mismatches": 0,
        "audit_unaccounted": 0,
        "doctor_clean": True,
        "http_5xx_outside_restart": 0,
        "errors_not_retried": 0,
    } | {k: v for k, v in expected.items() if k[0] != "p"}
    got = report.as_json()
    assert {k: got[k] for k in want} == want, got
    assert not report.passed


def test_a_clean_school_passes(school: School, database_url: str, committed_engine: Engine) -> None:
    report = check(database_url, school.ledger)
    assert report.passed, report.as_json()
    got = report.as_json()
    assert got["acknowledged_writes"] == len(school.ledger.acks) > 20
    assert got["promise_violations"] == ZERO
    assert got["lost"] == []
    assert got["audit_samples"] == []
    assert got["doctor_problems"] == []
    with committed_engine.begin() as conn:
        status = dict(conn.execute(text("SELECT id, status::text FROM class_sessions")).all())
    # The school holds what the checks must judge right: clashes shown, a touch not.
    assert status[school.clashing] == "CONFLICTED"
    assert status[school.touching] == "CONFIRMED"
    assert list(status.values()).count("CONFLICTED") >= 3


# Promises 1 to 5


def test_an_exact_duplicate_lesson_breaks_promise_1(
    school: School, database_url: str, committed_engine: Engine
) -> None:
    plant(
        committed_engine,
        "DROP INDEX ux_class_sessions_unique_1on1",
        # A one-off copy of the clashing one-off, booked after it and CONFLICTED by it
        # (and by what it clashes with), with its creation audited: only promise 1 breaks.
        """INSERT INTO class_sessions (branch_id, time_zone, kind, date, start_time, end_time,
                teacher_id, student_id, status, conflicts_with)
           SELECT branch_id, time_zone, kind, date, start_time, end_time, teacher_id,
                  student_id, 'CONFLICTED', conflicts_with || id
             FROM class_sessions WHERE id = :id""",
        """INSERT INTO audit_events (actor_type, actor, action, subject_type, subject_id)
           SELECT 'test', 'plant', 'session.create', 'session', max(id) FROM class_sessions""",
        id=school.clashing,
    )
    report = check(database_url, school.ledger)
    only(report, p1=1, duplicates=1, doctor_clean=False)
    assert str(school.clashing) in report.violations["1"][0]
    assert "excess_duplicates" in report.doctor_problems


def test_a_second_row_for_an_occurrence_breaks_promise_2(
    school: School, database_url: str, committed_engine: Engine
) -> None:
    plant(
        committed_engine,
        "ALTER TABLE class_sessions DROP CONSTRAINT uq_class_sessions_occurrence",
        # A cancelled copy of the cancelled lesson, inserted by the same run (same time).
        """INSERT INTO class_sessions (branch_id, time_zone, series_id, original_date, kind,
                date, start_time, end_time, teacher_id, student_id, status, cancel_reason,
                created_at)
           SELECT branch_id, time_zone, series_id, original_date, kind, date, start_time,
                  end_time, teacher_id, student_id, status, cancel_reason, created_at
             FROM class_sessions WHERE id = :id""",
        """INSERT INTO audit_events (actor_type, actor, action, subject_type, subject_id)
           SELECT 'test', 'plant', 'session.cancel', 'session', max(id) FROM class_sessions""",
        id=school.cancelled,
    )
    report = check(database_url, school.ledger)
    only(report, p2=1, duplicates=1, doctor_clean=False)
    assert f"of series {school.series}" in report.violations["2"][0]


def test_two_active_series_with_one_key_break_promise_3(
    school: School, database_url: str, committed_engine: Engine
) -> None:
    plant(
        committed_engine,
        "DROP INDEX ux_class_series_active_group",
        # The group series again (the weekdays the same set), never generated, audited.
        """INSERT INTO class_series (branch_id, teacher_id, kind, title, capacity, room_id,
                weekdays, start_time, end_time, first_date)
           SELECT branch_id, teacher_id, kind, title, capacity, room_id, weekdays, start_time,
                  end_time, first_date + 7 FROM class_series WHERE id = :id""",
        """INSERT INTO audit_events (actor_type, actor, action, subject_type, subject_id)
           SELECT 'test', 'plant', 'series.create', 'series', max(id) FROM class_series""",
        id=school.group,
    )
    report = check(database_url, school.ledger)
    only(report, p3=1, duplicates=1, doctor_clean=False)
    assert "Conversation" in report.violations["3"][0]


def test_an_occurrence_generation_left_out_breaks_promise_4(
    school: School, database_url: str, committed_engine: Engine
) -> None:
    # A lesson of the resumed series that nothing clashes with, gone (its watermark stays).
    plant(
        committed_engine,
        """DELETE FROM class_sessions WHERE id = (
               SELECT id FROM class_sessions WHERE series_id = :s ORDER BY date DESC LIMIT 1)""",
        s=school.paused,
    )
    report = check(database_url, school.ledger)
    only(report, p4=1)
    assert f"series {school.paused} has no row" in report.violations["4"][0]


def test_a_closed_day_or_a_skipped_duplicate_excuses_a_missing_occurrence(
    school: School, database_url: str, committed_engine: Engine
) -> None:
    with committed_engine.begin() as conn:
        last, before = (
            conn.execute(
                text("SELECT date FROM class_sessions WHERE series_id = :s ORDER BY date DESC"),
                {"s": school.series},
            )
            .scalars()
            .all()[:2]
        )
    plant(
        committed_engine,
        "DELETE FROM class_sessions WHERE series_id = :s AND date IN (:last, :before)",
        "INSERT INTO branch_closures (branch_id, date)"
        " SELECT branch_id, :before FROM class_series WHERE id = :s",
        s=school.series,
        last=last,
        before=before,
    )
    assert check(database_url, school.ledger).promise_violations["4"] == 1
    plant(
        committed_engine,
        """INSERT INTO audit_events (actor_type, actor, action, subject_type, subject_id,
                series_id, occurrence_date)
           VALUES ('generator', 'run:1', 'occurrence.skipped_duplicate', 'series', :s, :s,
                   :last)""",
        s=school.series,
        last=last,
    )
    assert check(database_url, school.ledger).passed


def _set_verdict(engine: Engine, session_id: int, status: str, named: list[int]) -> None:
    plant(
        engine,
        "UPDATE class_sessions SET status = CAST(:st AS session_status),"
        " conflicts_with = CAST(:named AS bigint[]) WHERE id = :id",
        id=session_id,
        st=status,
        named=named,
    )


def test_a_hidden_clash_breaks_promise_5(
    school: School, database_url: str, committed_engine: Engine
) -> None:
    _set_verdict(committed_engine, school.clashing, "CONFIRMED", [])
    report = check(database_url, school.ledger)
    only(report, p5=1)
    assert f"session {school.clashing} " in report.violations["5"][0]
    assert "not shown" in report.violations["5"][0]


def test_lessons_that_only_touch_do_not_clash(
    school: School, database_url: str, committed_engine: Engine
) -> None:
    with committed_engine.begin() as conn:
        lesson = conn.execute(
            text("SELECT id FROM class_sessions WHERE series_id = :s AND date = :d"),
            {"s": school.series, "d": _thursday(1)},
        ).scalar_one()
    # The touching one-off was booked before the series' lesson? No: after. Name it as
    # blocked by the lesson it only touches.
    _set_verdict(committed_engine, school.touching, "CONFLICTED", [lesson])
    report = check(database_url, school.ledger)
    only(report, p5=1)
    assert "no earlier session clashes" in report.violations["5"][0]


def test_a_blocker_booked_later_named_wrongly_or_left_out_breaks_promise_5(
    school: School, database_url: str, committed_engine: Engine
) -> None:
    with committed_engine.begin() as conn:
        named = conn.execute(
            text("SELECT conflicts_with FROM class_sessions WHERE id = :id"),
            {"id": school.clashing},
        ).scalar_one()
    assert len(named) == 1  # the series' lesson that evening (same teacher)
    # The lesson named as blocked by the one-off booked after it.
    _set_verdict(committed_engine, named[0], "CONFLICTED", [school.clashing])
    report = check(database_url, school.ledger)
    only(report, p5=1)
    assert "no earlier session clashes" in report.violations["5"][0]
    _set_verdict(committed_engine, named[0], "CONFIRMED", [])
    # The one-off naming, beside its blocker, one that only touches it (and came later).
    _set_verdict(committed_engine, school.clashing, "CONFLICTED", [*named, school.touching])
    report = check(database_url, school.ledger)
    only(report, p5=1)
    assert "do not clash with it or were booked later" in report.violations["5"][0]
    # The one-off CONFLICTED, naming none of its blockers.
    _set_verdict(committed_engine, school.clashing, "CONFLICTED", [])
    report = check(database_url, school.ledger)
    only(report, p5=1)
    assert f"does not name {named}" in report.violations["5"][0]


def test_a_clash_in_another_zone_by_a_group_attendee_or_a_room_must_show(
    school: School, database_url: str, committed_engine: Engine
) -> None:
    with committed_engine.begin() as conn:
        rows = conn.execute(
            text(
                "SELECT id FROM class_sessions WHERE status = 'CONFLICTED' AND series_id IS NULL"
                " AND (time_zone = 'Europe/London' OR date IN (:sat, :sat2)) ORDER BY id"
            ),
            {"sat": next_weekday(6, weeks=1), "sat2": next_weekday(6, weeks=2)},
        ).all()
    assert len(rows) == 3
    for (sid,) in rows:
        _set_verdict(committed_engine, sid, "CONFIRMED", [])
    only(check(database_url, school.ledger), p5=3)


# Lost writes


def _ack(ledger: Ledger, op: str) -> Ack:
    return next(a for a in reversed(ledger.acks) if a.op == op)


def test_an_acknowledged_series_that_is_missing_is_lost_unless_a_restore_undid_it(
    school: School, database_url: str
) -> None:
    made = _ack(school.ledger, "series.create")
    ghost = replace(made, response={**made.response, "id": 999_999}, key=None)
    school.ledger.acks.append(ghost)
    report = check(database_url, school.ledger)
    only(report, lost_writes=1, audit_unaccounted=1)
    assert "series 999999 does not exist" in report.lost[0]
    school.ledger.windows.append(
        Window("restore", ghost.sent_at - 1, ghost.acked_at + 1, backup_started_at=ghost.sent_at)
    )
    # A write outside the checks' vocabulary is counted, not judged.
    later = time.time() + 60  # after the restore
    school.ledger.acks.append(replace(made, op="teacher.create", sent_at=later, acked_at=later))
    report = check(database_url, school.ledger)
    assert report.passed, report.as_json()
    assert report.rolled_back_by_design >= 1
    assert report.unjudged_writes == 1


UNDO = {
    "series.pause": "UPDATE class_series SET status = 'ACTIVE' WHERE id = :held",
    "series.resume": "UPDATE class_series SET status = 'PAUSED' WHERE id = :paused",
    "series.extend": "UPDATE class_series SET last_date = last_date - 7 WHERE id = :short",
    "series.end": "UPDATE class_series SET last_date = NULL WHERE id = :ending",
    "series.change_from": "UPDATE class_series SET last_date = NULL, status = 'ACTIVE'"
    " WHERE status_reason LIKE 'changed%'",
    "series.enrol": "DELETE FROM series_enrolments WHERE series_id = :group AND student_id = :st",
    "series.unenrol": "UPDATE series_enrolments SET until_date = NULL WHERE series_id = :group",
    "session.create": "DELETE FROM class_sessions WHERE id = :touching",
    "session.cancel": "UPDATE class_sessions SET status = 'CONFIRMED', cancel_reason = NULL,"
    " cancelled_at = NULL WHERE id = :cancelled",
    "session.move": "UPDATE class_sessions SET start_time = '20:00', end_time = '21:30'"
    " WHERE id = :moved",
    "closure.create": "DELETE FROM branch_closures WHERE date = :closed",
    "closure.delete": "INSERT INTO branch_closures (branch_id, date) VALUES (:branch, :reopened)",
}


def test_each_acknowledged_write_undone_in_the_database_is_lost(
    school: School, world: World, database_url: str, committed_engine: Engine
) -> None:
    ids = {
        "paused": school.paused,
        "held": school.held,
        "short": school.short,
        "ending": school.ending,
        "st": world.student_1,
        "branch": world.branch_a,
        "group": school.group,
        "touching": school.touching,
        "cancelled": school.cancelled,
        "moved": school.moved,
        "closed": school.closed_day,
        "reopened": school.reopened_day,
    }
    plant(committed_engine, *UNDO.values(), **ids)
    report = check(database_url, school.ledger)
    assert {s.split(" ")[0] for s in report.lost} == set(UNDO), report.lost
    assert report.lost_writes == len(UNDO), report.lost


def test_a_later_change_of_the_same_object_is_not_a_lost_write(
    school: School, client: TestClient, world: World, database_url: str
) -> None:
    # Unacknowledged (the client never saw the answer): the pause is undone by a resume
    # the ledger does not hold, and the check must not call the pause lost.
    pause = _ack(school.ledger, "series.pause")
    school.ledger.acks.remove(_ack(school.ledger, "series.resume"))
    assert check(database_url, school.ledger).passed
    again = client.post(
        f"/api/class-series/{school.paused}/pause", json={}, headers=bearer(world.admin)
    )
    assert again.status_code == 200
    assert check(database_url, Ledger(acks=[pause])).passed


def test_a_keyed_retry_answered_from_an_earlier_attempt_is_not_lost(
    school: School, database_url: str
) -> None:
    # The first attempt's answer never reached the client; its retry with the same key got
    # it, after the transaction that wrote it.
    made = _ack(school.ledger, "series.create")
    later = time.time() + 60
    retry = replace(made, key="retry-1", sent_at=later, acked_at=later)
    pause = _ack(school.ledger, "series.pause")
    school.ledger.acks += [retry, replace(pause, key="retry-2", sent_at=later, acked_at=later)]
    assert check(database_url, school.ledger).passed
    # Without a key, its transaction must have started after it was sent: no event did.
    school.ledger.acks.append(replace(pause, sent_at=later, acked_at=later))
    only(check(database_url, school.ledger), audit_unaccounted=1)


# Idempotency, audit, doctor, errors


def test_a_replay_with_another_answer_is_a_mismatch(school: School, database_url: str) -> None:
    first = school.ledger.replays[0]
    school.ledger.replays.append(replace(first, replay={**first.replay, "id": 999}))
    school.ledger.replays.append(replace(first, replay_status=409))
    report = check(database_url, school.ledger)
    only(report, idempotency_mismatches=2)


UNAUDITED = {
    # The creation event of a series: the acknowledged create's own event, the series' and
    # so its lessons' account.
    "series": (
        "DELETE FROM audit_events WHERE action = 'series.create' AND subject_id = :group",
        ["no series.create audit event", "has no event creating it", "of series"],
    ),
    "one-off": (
        "DELETE FROM audit_events WHERE action = 'session.create' AND subject_id = :touching",
        ["no session.create audit event", "has no event or generation run"],
    ),
    # A lesson of a series inserted after every generation run had finished.
    "generated": (
        "UPDATE class_sessions SET created_at = now() + interval '1 hour' WHERE id = :cancelled",
        ["has no event or generation run"],
    ),
    "cancel": (
        "UPDATE class_sessions SET status = 'CANCELLED', cancel_reason = 'gone',"
        " conflicts_with = '{}' WHERE id = :touching",
        ["is cancelled by no event"],
    ),
    # A lesson of a series in another room than the series', without a move.
    "move": (
        "UPDATE class_sessions SET room_id = (SELECT max(id) FROM rooms) WHERE id = :cancelled",
        ["was moved by no event"],
    ),
    "acknowledged": (
        "DELETE FROM audit_events WHERE action = 'series.end'",
        ["no series.end audit event"],
    ),
}


@pytest.mark.parametrize("case", sorted(UNAUDITED))
def test_a_change_the_audit_log_does_not_account_for_is_reported(
    case: str, school: School, database_url: str, committed_engine: Engine
) -> None:
    sql, found = UNAUDITED[case]
    plant(
        committed_engine,
        sql,
        group=school.group,
        touching=school.touching,
        cancelled=school.cancelled,
    )
    report = check(database_url, school.ledger)
    for words in found:
        assert any(words in s for s in report.audit_samples), (words, report.audit_samples)
    assert report.lost_writes == 0, report.as_json()
    assert report.promise_violations == ZERO, report.as_json()
    assert not report.passed


def test_a_live_lesson_on_a_closed_day_makes_the_doctor_unclean(
    school: School, database_url: str, committed_engine: Engine
) -> None:
    plant(
        committed_engine,
        "INSERT INTO branch_closures (branch_id, date)"
        " SELECT branch_id, date FROM class_sessions WHERE id = :id",
        id=school.touching,
    )
    report = check(database_url, school.ledger)
    only(report, doctor_clean=False)
    assert report.doctor_problems == ["sessions_on_closure_days"]


def test_errors_count_outside_the_database_restart_and_when_not_retried(
    school: School, database_url: str
) -> None:
    now = time.time()
    school.ledger.windows.append(Window("pg_restart", now - 10, now))
    school.ledger.errors.append(ServerError("GET", "/api/x", 503, now - 5, retried_ok=True))
    assert check(database_url, school.ledger).passed
    school.ledger.errors.append(ServerError("GET", "/api/x", 500, now + 5, retried_ok=True))
    school.ledger.errors.append(ServerError("GET", "/api/x", 503, now - 5, retried_ok=False))
    only(check(database_url, school.ledger), http_5xx_outside_restart=1, errors_not_retried=1)
