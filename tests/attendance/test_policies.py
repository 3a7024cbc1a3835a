"""Make-up policies per branch and kind of lesson, versioned: a new version applies to
absences from lessons that start after it, each credit names the version that issued
it, and a make-up must be the same kind and length when the policy says so."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from komawari.attendance import policies
from komawari.attendance.models import CreditPolicy
from komawari.audit.service import Actor
from komawari.auth.enums import Role
from komawari.db.engine import session_scope
from komawari.series.enums import SeriesKind
from tests.factories.world import World, bearer, one_off_body
from tests.web.pages import csrf_of, make_user, sign_in

PATH = "/api/branches/{}/credit-policies"


def _book(client: TestClient, world: World, **changes: Any) -> dict[str, Any]:
    answer = client.post(
        "/api/class-sessions", headers=bearer(world.admin), json=one_off_body(world, **changes)
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _absent(client: TestClient, world: World, lesson: int, **mark: Any) -> Any:
    return client.post(
        f"/api/class-sessions/{lesson}/attendance",
        headers=bearer(world.admin),
        json={"marks": [{"student_id": world.student_1, "state": "absent_notified", **mark}]},
    ).json()


def _credit(client: TestClient, world: World, credit_id: int) -> dict[str, Any]:
    found = client.get(f"/api/students/{world.student_1}/credits", headers=bearer(world.admin))
    return next(c for c in found.json()["credits"] if c["id"] == credit_id)


def test_a_new_version_governs_later_absences_and_the_credit_names_it(
    client: TestClient, world: World
) -> None:
    before = client.get(PATH.format(world.branch_a), headers=bearer(world.staff_a)).json()
    assert [(p["lesson_kind"], p["version"]) for p in before["current"]] == [
        ("PRIVATE", 0), ("GROUP", 0)
    ]  # fmt: skip
    assert before["versions"] == []
    body = {"lesson_kind": "PRIVATE", "expiry_days": 30, "monthly_cap": 1}
    made = client.post(PATH.format(world.branch_a), headers=bearer(world.staff_a), json=body)
    assert made.status_code == 201, made.text
    assert made.json()["version"] == 1
    lesson = _book(client, world)
    first = _absent(client, world, lesson["id"])["credits_issued"]
    credit = _credit(client, world, first[0])
    assert credit["policy_version"] == 1
    absence = date.fromisoformat(lesson["date"])
    assert credit["expires_on"] == (absence + timedelta(days=30)).isoformat()
    second = _book(client, world, start_time="10:00", end_time="11:00")
    assert _absent(client, world, second["id"])["credits_issued"] == [], "a cap of 1"
    now = client.get(PATH.format(world.branch_a), headers=bearer(world.staff_a)).json()
    assert [(p["lesson_kind"], p["version"]) for p in now["current"]] == [
        ("PRIVATE", 1), ("GROUP", 0)
    ]  # fmt: skip
    assert client.get(PATH.format(world.branch_b), headers=bearer(world.admin)).json()[
        "current"
    ][0]["version"] == 0, "another branch keeps the default"  # fmt: skip


def test_an_absence_from_a_lesson_before_the_version_keeps_the_old_rules(
    client: TestClient, world: World
) -> None:
    past = (date.today() - timedelta(days=3)).isoformat()
    lesson = _book(client, world, date=past)
    body = {"lesson_kind": "PRIVATE", "expiry_days": 30}
    assert client.post(PATH.format(world.branch_a), headers=bearer(world.admin),
                       json=body).status_code == 201  # fmt: skip
    told = datetime.fromisoformat(lesson["starts_at"]) - timedelta(hours=2)
    issued = _absent(client, world, lesson["id"], notified_at=told.isoformat())
    credit = _credit(client, world, issued["credits_issued"][0])
    assert credit["policy_version"] == 0
    assert credit["expires_on"] == policies.end_of_next_month(date.fromisoformat(past)).isoformat()


def test_a_make_up_of_another_length_is_refused_unless_the_policy_allows_it(
    client: TestClient, world: World
) -> None:
    lesson = _book(client, world)
    credit = _absent(client, world, lesson["id"])["credits_issued"][0]
    longer = client.post(
        "/api/class-sessions",
        headers=bearer(world.admin),
        json=one_off_body(world, start_time="10:00", end_time="11:30", credit_id=credit),
    )
    assert longer.status_code == 422
    assert longer.json()["errors"][0]["code"] == "credit.other-length"
    assert "60" in longer.json()["errors"][0]["message"]
    same = client.post(
        "/api/class-sessions",
        headers=bearer(world.admin),
        json=one_off_body(world, start_time="10:00", end_time="11:00", credit_id=credit),
    )
    assert same.status_code == 201, "the refused booking made nothing: the time is free"
    # A branch that lets a make-up be any length: its later absences' credits say so.
    body = {"lesson_kind": "PRIVATE", "same_kind_and_length": False}
    client.post(PATH.format(world.branch_a), headers=bearer(world.admin), json=body)
    other = _book(client, world, start_time="13:00", end_time="14:00")
    loose = _absent(client, world, other["id"])["credits_issued"][0]
    made = client.post(
        "/api/class-sessions",
        headers=bearer(world.admin),
        json=one_off_body(world, start_time="15:00", end_time="16:30", credit_id=loose),
    )
    assert made.status_code == 201, made.text


def test_bad_policies_are_refused_named_and_write_nothing(client: TestClient, world: World) -> None:
    for bad, field in (
        ({"lesson_kind": "PRIVATE", "earning_states": ["present"]}, "earning_states"),
        ({"lesson_kind": "PRIVATE", "expiry_days": 0}, "expiry_days"),
        ({"lesson_kind": "PRIVATE", "makeup_seats": 51}, "makeup_seats"),
        ({"lesson_kind": "PRIVATE", "notice_by": "25:00"}, "notice_by"),
        ({"lesson_kind": "SOLO"}, "lesson_kind"),
    ):
        answer = client.post(PATH.format(world.branch_a), headers=bearer(world.admin), json=bad)
        assert answer.status_code == 422, bad
        assert field in answer.text, bad
    other = client.post(
        PATH.format(world.branch_b), headers=bearer(world.staff_a), json={"lesson_kind": "GROUP"}
    )
    assert other.status_code in (403, 404)
    assert client.get(PATH.format(world.branch_a), headers=bearer(world.admin)).json()[
        "versions"
    ] == []  # fmt: skip


def test_versions_set_at_once_are_numbered_one_by_one(
    world: World, committed_engine: Engine
) -> None:
    errors: list[BaseException] = []

    def one(n: int) -> None:
        try:
            with session_scope(committed_engine) as s:
                policies.set_policy(
                    s, world.branch_a, SeriesKind.PRIVATE,
                    policies.DEFAULT.__class__(**{**policies.DEFAULT.__dict__, "monthly_cap": n}),
                    actor=Actor("test", "race"),
                )  # fmt: skip
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_scope(committed_engine) as s:
        versions = s.scalars(
            select(CreditPolicy.version).where(CreditPolicy.branch_id == world.branch_a)
        ).all()
    assert sorted(versions) == list(range(1, 9))


def test_staff_change_the_policy_on_its_page_and_a_bad_form_keeps_what_they_typed(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303
    page = client.get(f"/branches/{world.branch_a}/credit-policy")
    assert page.status_code == 200
    assert 'id="policy-form-private"' in page.text
    form = {
        "csrf_token": csrf_of(page.text),
        "lesson_kind": "PRIVATE",
        "earning_states": ["absent_notified", "absent"],
        "notice_by": "16:30",
        "expiry_days": "",
        "monthly_cap": "",
        "same_kind_and_length": "1",
        "makeup_seats": "0",
    }
    saved = client.post(f"/branches/{world.branch_a}/credit-policy", data=form,
                        follow_redirects=False)  # fmt: skip
    assert saved.status_code == 303, saved.text
    with session_scope(committed_engine) as s:
        row = s.scalars(select(CreditPolicy)).one()
        assert row.version == 1
        assert sorted(row.earning_states) == ["absent", "absent_notified"]
        assert row.notice_by is not None
        assert row.notice_by.strftime("%H:%M") == "16:30"
        assert row.expiry_days is None
        assert row.monthly_cap is None, "empty: no limit"
    shown = client.get(f"/branches/{world.branch_a}/credit-policy?done=saved").text
    assert "version 1" in shown
    assert 'id="versions"' in shown
    bad = client.post(
        f"/branches/{world.branch_a}/credit-policy",
        data=form | {"expiry_days": "999", "notice_by": "9:5"},
    )
    assert bad.status_code == 422
    assert 'value="999"' in bad.text, "what was typed is kept"
    assert 'id="expiry_days-PRIVATE-error"' in bad.text or "expiry_days" in bad.text
    with session_scope(committed_engine) as s:
        assert len(s.scalars(select(CreditPolicy)).all()) == 1, "nothing written"
    elsewhere = client.post(f"/branches/{world.branch_b}/credit-policy", data=form,
                            follow_redirects=False)  # fmt: skip
    assert elsewhere.status_code in (403, 404)
