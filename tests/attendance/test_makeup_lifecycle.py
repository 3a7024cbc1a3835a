"""A make-up lesson's credit follows the lesson: a restore uses it again (or is refused
when another lesson has it), a closure gives it back and a reopening takes it again (or
leaves the lesson cancelled, saying why), and a flagged credit is not given back to use."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from komawari.db.engine import session_scope
from komawari.sessions.models import ClassSession
from tests.factories.world import World, bearer, one_off_body


def _post(client: TestClient, world: World, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, headers=bearer(world.staff_a), json=body)


def _book(client: TestClient, world: World, **changes: Any) -> dict[str, Any]:
    answer = _post(client, world, "/api/class-sessions", one_off_body(world, **changes))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _credit(client: TestClient, world: World) -> int:
    lesson = _book(client, world)["id"]
    marks = {"marks": [{"student_id": world.student_1, "state": "absent_notified"}]}
    done = _post(client, world, f"/api/class-sessions/{lesson}/attendance", marks).json()
    return int(done["credits_issued"][0])


def _ledger(client: TestClient, world: World) -> tuple[int, list[str]]:
    found = client.get(f"/api/students/{world.student_1}/credits", headers=bearer(world.staff_a))
    body = found.json()
    return body["balance"], [e["kind"] for e in body["entries"]]


def test_a_restored_make_up_uses_its_credit_again_or_is_refused(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    credit = _credit(client, world)
    first = _book(client, world, start_time="10:00", end_time="11:00", credit_id=credit)["id"]
    _post(client, world, f"/api/class-sessions/{first}/cancel", {"reason": "ill"})
    assert _ledger(client, world)[0] == 1
    back = _post(client, world, f"/api/class-sessions/{first}/restore", {})
    assert back.status_code == 200, back.text
    assert _ledger(client, world) == (0, ["issue", "use", "release", "use"])
    _post(client, world, f"/api/class-sessions/{first}/cancel", {"reason": "ill again"})
    other = _book(client, world, start_time="12:00", end_time="13:00", credit_id=credit)["id"]
    refused = _post(client, world, f"/api/class-sessions/{first}/restore", {})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["code"] == "credit.gone-for-restore"
    with session_scope(committed_engine) as s:
        assert s.get_one(ClassSession, first).status.value == "CANCELLED", "nothing changed"
        assert s.get_one(ClassSession, other).status.value == "CONFIRMED"
    assert _ledger(client, world)[0] == 0


def test_a_closure_gives_the_credit_back_and_a_reopening_takes_it_again(
    client: TestClient, world: World
) -> None:
    credit = _credit(client, world)
    day = (date.fromisoformat(one_off_body(world)["date"]) + timedelta(days=1)).isoformat()
    makeup = _book(client, world, date=day, credit_id=credit)["id"]
    closed = _post(client, world, f"/api/branches/{world.branch_a}/closures", {"date": day})
    assert closed.status_code == 201, closed.text
    assert _ledger(client, world) == (1, ["issue", "use", "release"])
    reopened = client.delete(
        f"/api/branches/{world.branch_a}/closures/{day}", headers=bearer(world.staff_a)
    )
    assert reopened.status_code in (200, 204), reopened.text
    assert _ledger(client, world) == (0, ["issue", "use", "release", "use"])
    lesson = client.get(f"/api/class-sessions/{makeup}", headers=bearer(world.staff_a)).json()
    assert lesson["status"] == "CONFIRMED"


def test_a_reopening_leaves_a_make_up_cancelled_when_its_credit_went_elsewhere(
    client: TestClient, world: World
) -> None:
    credit = _credit(client, world)
    day = (date.fromisoformat(one_off_body(world)["date"]) + timedelta(days=1)).isoformat()
    makeup = _book(client, world, date=day, credit_id=credit)["id"]
    _post(client, world, f"/api/branches/{world.branch_a}/closures", {"date": day})
    elsewhere = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    _book(client, world, date=elsewhere, credit_id=credit)
    client.delete(f"/api/branches/{world.branch_a}/closures/{day}", headers=bearer(world.staff_a))
    lesson = client.get(f"/api/class-sessions/{makeup}", headers=bearer(world.staff_a)).json()
    assert lesson["status"] == "CANCELLED"
    assert lesson["cancel_reason"] == "makeup_credit_gone"
    balance, kinds = _ledger(client, world)
    assert balance == 0
    assert kinds.count("use") - kinds.count("release") == 1, "one live make-up"


def test_a_flagged_credit_given_back_by_a_cancel_is_revoked(
    client: TestClient, world: World
) -> None:
    lesson = _book(client, world)["id"]
    marks = {"marks": [{"student_id": world.student_1, "state": "absent_notified"}]}
    credit = _post(client, world, f"/api/class-sessions/{lesson}/attendance", marks).json()[
        "credits_issued"
    ][0]  # fmt: skip
    makeup = _book(client, world, start_time="10:00", end_time="11:00", credit_id=credit)["id"]
    present = {"marks": [{"student_id": world.student_1, "state": "present"}]}
    done = _post(client, world, f"/api/class-sessions/{lesson}/attendance", present).json()
    assert done["credits_flagged"] == [credit]
    _post(client, world, f"/api/class-sessions/{makeup}/cancel", {"reason": "ill"})
    assert _ledger(client, world) == (0, ["issue", "use", "release", "revoke"])
    body = one_off_body(world, start_time="12:00", end_time="13:00", credit_id=credit)
    again = _post(client, world, "/api/class-sessions", body)
    assert again.status_code == 422
    assert again.json()["errors"][0]["code"] == "credit.ended"
