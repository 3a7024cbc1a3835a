"""The soak's credit checks (promise 8): a clean ledger passes; a double issue or a double
use is counted, whichever way it got there.

The credits are made through the API as the soak's clients make them (absence notices, a
correction, make-up bookings and a cancel), every 2xx in a ledger. Faults the schema
refuses are planted with the guard dropped inside a transaction that is rolled back (DDL
is transactional in PostgreSQL), on the connection the checks read: nothing stays behind.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.rows import dict_row
from sqlalchemy import Engine

from komawari_soak.checks import CreditFindings, credit_findings, run_checks
from komawari_soak.ledger import Ack
from tests.factories.world import World, next_weekday, one_off_body
from tests.soak.test_checks import Client


@dataclass
class Credits:
    api: Client
    lesson: int  # student 1's lesson whose absence earned `used`
    used: int  # used by a make-up lesson, released by its cancel, used again
    makeup: int  # the live make-up lesson of `used`
    revoked: int  # student 1's, its absence corrected to present while unused
    revoked_lesson: int
    flagged: int  # student 2's, used, then its absence corrected: flagged
    flagged_makeup: int


def make_credits(client: TestClient, world: World) -> Credits:
    api = Client(client, world.admin)
    book = "session.create", "POST", "/api/class-sessions"
    makeup = "makeup.book", "POST", "/api/class-sessions"

    def lesson(weeks: int, **changes: Any) -> int:
        day = next_weekday(3, weeks=weeks).isoformat()
        return int(api.send(*book, one_off_body(world, date=day, **changes))["id"])

    def mark(op: str, lesson: int, student: int, state: str, key: str) -> Any:
        body = {"marks": [{"student_id": student, "state": state}]}
        return api.send(op, "POST", f"/api/class-sessions/{lesson}/attendance", body, key=key)

    def use(credit: int, student: int, start: str) -> int:
        body = one_off_body(
            world,
            student_id=student,
            teacher_id=world.teacher_2,
            date=next_weekday(5).isoformat(),
            start_time=start,
            end_time=f"{int(start[:2]) + 1}:00",
            credit_id=credit,
        )
        return int(api.send(*makeup, body, key=f"makeup-{credit}-{start}")["id"])

    first = lesson(1)
    used = mark("attendance.notice", first, world.student_1, "absent_notified", "n1")
    (credit,) = used["credits_issued"]
    cancelled = use(credit, world.student_1, "10:00")
    api.send("makeup.cancel", "POST", f"/api/class-sessions/{cancelled}/cancel", {"reason": "ill"})
    again = use(credit, world.student_1, "11:00")

    second = lesson(2)
    (revoked,) = mark("attendance.notice", second, world.student_1, "absent_notified", "n2")[
        "credits_issued"
    ]
    taken = mark("attendance.correct", second, world.student_1, "present", "c2")
    assert taken["credits_revoked"] == [revoked]

    third = lesson(1, student_id=world.student_2, start_time="16:00", end_time="17:00")
    (flagged,) = mark("attendance.notice", third, world.student_2, "absent_notified", "n3")[
        "credits_issued"
    ]
    flagged_makeup = use(flagged, world.student_2, "12:00")
    assert mark("attendance.roll", third, world.student_2, "present", "r3")["credits_flagged"] == [
        flagged
    ]
    return Credits(api, first, credit, again, revoked, second, flagged, flagged_makeup)


@pytest.fixture
def credits(client: TestClient, world: World, committed_engine: Engine) -> Credits:
    return make_credits(client, world)


@pytest.fixture
def conn(database_url: str, credits: Credits) -> Iterator[psycopg.Connection[dict[str, Any]]]:
    """A connection whose one transaction is rolled back at the end (planted faults go)."""
    url = re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", database_url)
    with psycopg.connect(url, row_factory=dict_row) as c:
        yield c
        c.rollback()


def _findings(conn: psycopg.Connection[dict[str, Any]], *statements: str, **ids: int) -> Any:
    for sql in statements:
        conn.execute(sql, ids)
    return credit_findings(conn)


def test_a_clean_credit_ledger_passes_with_its_figures(credits: Credits, database_url: str) -> None:
    report = run_checks(database_url, credits.api.ledger)
    assert report.passed, report.as_json()
    got = report.as_json()
    assert got["credit_double_issues"] == got["credit_double_uses"] == 0
    assert got["lost_writes"] == got["audit_unaccounted"] == 0
    assert got["unjudged_writes"] == 0  # marks and make-ups are judged, not only counted
    assert got["credit_figures"] == {
        "credits": 3,
        "flagged": 1,
        "issue": 3,
        "use": 3,
        "release": 1,
        "revoke": 1,
        "marks": 3,  # a correction rewrites its mark
    }


def test_a_second_credit_for_one_absence_or_a_second_issue_entry_is_a_double_issue(
    credits: Credits, conn: psycopg.Connection[dict[str, Any]]
) -> None:
    found = _findings(
        conn,
        "DROP INDEX ux_credit_entries_one_issue",
        "INSERT INTO credit_entries (credit_id, kind, amount, actor)"
        " VALUES (%(used)s, 'issue', 1, 'plant')",
        "ALTER TABLE credits DROP CONSTRAINT uq_credits_student_id_absence_session_id",
        """INSERT INTO credits (student_id, branch_id, absence_session_id, absence_date,
                expires_on)
           SELECT student_id, branch_id, absence_session_id, absence_date, expires_on
             FROM credits WHERE id = %(revoked)s""",
        used=credits.used,
        revoked=credits.revoked,
    )
    assert (found.double_issues, found.double_uses) == (2, 0), found
    assert any(f"credit {credits.used}: issue entries" in s for s in found.samples)
    assert any(f"session {credits.revoked_lesson}" in s for s in found.samples)


def test_a_second_live_use_or_a_use_after_a_revoke_is_a_double_use(
    credits: Credits, conn: psycopg.Connection[dict[str, Any]]
) -> None:
    found = _findings(
        conn,
        # Credit `flagged` used again (use 1 twice) by another live lesson: two live uses,
        # balance -1, two live lessons.
        "DROP INDEX ux_credit_entries_use_no",
        "INSERT INTO credit_entries (credit_id, kind, amount, use_no, session_id, actor)"
        " VALUES (%(flagged)s, 'use', -1, 1, %(makeup)s, 'plant')",
        # Credit `revoked` used after its revoke (no guard stops that in the schema).
        "INSERT INTO credit_entries (credit_id, kind, amount, use_no, session_id, actor)"
        " VALUES (%(revoked)s, 'use', -1, 1, %(lesson)s, 'plant')",
        flagged=credits.flagged,
        makeup=credits.makeup,
        revoked=credits.revoked,
        lesson=credits.lesson,
    )
    assert (found.double_issues, found.double_uses) == (0, 2), found
    twice, after = (
        next(s for s in found.samples if s.startswith(f"credit {c}:"))
        for c in (credits.flagged, credits.revoked)
    )
    assert "2 live uses at once" in twice
    assert f"live lessons {sorted([credits.makeup, credits.flagged_makeup])}" in twice
    assert "used after it expired or was revoked" in after
    assert "balance went from -1" in after


def test_a_use_released_twice_is_a_double_use(
    credits: Credits, conn: psycopg.Connection[dict[str, Any]]
) -> None:
    found = _findings(
        conn,
        "DROP INDEX ux_credit_entries_release_no",
        # `used`, used again (use 2, live): use 1 released a second time leaves it free
        # while its make-up lesson stands (the balance stays within 0 and 1).
        "INSERT INTO credit_entries (credit_id, kind, amount, use_no, actor)"
        " VALUES (%(used)s, 'release', 1, 1, 'plant')",
        # `flagged`, in use: use 1 released twice, the balance goes to 2.
        "INSERT INTO credit_entries (credit_id, kind, amount, use_no, actor)"
        " VALUES (%(flagged)s, 'release', 1, 1, 'plant'), (%(flagged)s, 'release', 1, 1, 'p')",
        used=credits.used,
        flagged=credits.flagged,
    )
    assert (found.double_issues, found.double_uses) == (0, 2), found
    assert any(
        s.startswith(f"credit {credits.used}:") and "of a use not made or released already" in s
        for s in found.samples
    )
    assert any(
        s.startswith(f"credit {credits.flagged}:") and "balance went from 0 to 2" in s
        for s in found.samples
    )


def test_the_findings_are_gone_with_the_rolled_back_transaction(
    credits: Credits, conn: psycopg.Connection[dict[str, Any]], database_url: str
) -> None:
    _findings(
        conn,
        "DROP INDEX ux_credit_entries_use_no",
        "INSERT INTO credit_entries (credit_id, kind, amount, use_no, session_id, actor)"
        " VALUES (%(flagged)s, 'use', -1, 1, %(makeup)s, 'plant')",
        flagged=credits.flagged,
        makeup=credits.makeup,
    )
    conn.rollback()
    assert credit_findings(conn) == CreditFindings(0, 0, [], credit_findings(conn).figures)
    assert conn.execute(
        "SELECT count(*) AS n FROM pg_indexes WHERE indexname = 'ux_credit_entries_use_no'"
    ).fetchone() == {"n": 1}
    assert run_checks(database_url, credits.api.ledger).passed


def _ack(credits: Credits, op: str) -> Ack:
    return next(a for a in reversed(credits.api.ledger.acks) if a.op == op)


def test_answers_the_ledger_does_not_bear_out_fail_the_run(
    credits: Credits, database_url: str
) -> None:
    ledger = credits.api.ledger
    notice = _ack(credits, "attendance.notice")
    made = _ack(credits, "makeup.book")
    roll = _ack(credits, "attendance.roll")
    later = time.time() + 60
    ledger.acks += [
        # The same credit answered as issued to a second request (another key).
        replace(notice, key="another"),
        # A credit answered as issued that the ledger does not hold.
        replace(notice, key="ghost", response={**notice.response, "credits_issued": [999]}),
        # A make-up booking answered 201 whose lesson used no credit (the first lesson).
        replace(made, response={**made.response, "id": credits.lesson}),
        # A roll answered "late", the last mark of its student (no later event), is present.
        replace(
            roll,
            key=None,
            sent_at=later,
            acked_at=later,
            response={**roll.response, "marks": [{**roll.response["marks"][0], "state": "late"}]},
        ),
    ]
    report = run_checks(database_url, ledger)
    got = report.as_json()
    assert (got["credit_double_issues"], got["credit_double_uses"]) == (1, 0), got
    assert any("answered as issued to 2 requests" in s for s in report.credit_samples)
    assert got["lost_writes"] == 3, got["lost"]
    assert any("mark at session" in s and "is present, answered late" in s for s in report.lost)
    assert any("credit 999 answered issued does not exist" in s for s in report.lost)
    assert any(
        f"make-up session {credits.lesson} booked with credit" in s and "entries []" in s
        for s in report.lost
    )
    assert not report.passed


def test_a_make_up_used_again_after_a_release_is_sound_and_two_uses_in_a_row_are_not() -> None:
    from types import SimpleNamespace
    from typing import Any, cast

    from komawari_soak import writes

    def entries(*kinds: tuple[str, int]) -> Any:
        made = [{"id": i, "kind": k, "credit_id": c} for i, (k, c) in enumerate(kinds)]
        return cast(Any, SimpleNamespace(entries_of_lesson={7: made}))

    body, answer = {"credit_id": 3}, {"id": 7}
    closed_and_reopened = entries(("use", 3), ("release", 3), ("use", 3))
    assert writes._used(closed_and_reopened, body, answer) == ""
    assert writes._used(entries(("use", 3), ("use", 3)), body, answer) != ""
    assert writes._used(entries(("use", 4)), body, answer) != "", "another credit"
    assert writes._used(entries(), body, answer) != "", "no use at all"
