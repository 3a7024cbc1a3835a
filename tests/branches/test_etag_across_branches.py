"""A day names lessons of other branches (a shared teacher): their changes change its ETag.

Branch B's day shows, for each lesson, the clashes it has with lessons of branch A
(`conflicts_with`, `clashed_by`). A change to such a lesson of A that leaves B's rows as
they are must still give B's day (the JSON schedule and the page) a new ETag, for B's
staff (who see the other branch's lesson redacted) as for an admin.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from komawari.auth import service as auth
from komawari.auth.enums import Role
from komawari.db.engine import session_scope
from tests.factories.world import SETUP, World, bearer, book, next_weekday, series_body
from tests.web.pages import make_user, sign_in

THURSDAY = next_weekday(4)


class DayOfB:
    """Branch B's day as B's staff and an admin see it (JSON), and as B's staff's page."""

    def __init__(self, client: TestClient, world: World, engine: Engine) -> None:
        self.client, self.world = client, world
        with session_scope(engine) as s:
            user, _ = auth.ensure_user(
                s, username="staff-b", role=Role.STAFF, branch_ids=[world.branch_b], actor=SETUP
            )
            staff_b = auth.create_token(s, user=user, name="test", actor=SETUP)[1]
        make_user(engine, "office-b", Role.STAFF, branch_ids=[world.branch_b])
        assert sign_in(client, "office-b") == 303
        day = THURSDAY.isoformat()
        api = f"/api/branches/{world.branch_b}/schedule?date={day}"
        self.paths = {
            "staff": (api, bearer(staff_b)),
            "admin": (api, bearer(world.admin)),
            "page": (f"/branches/{world.branch_b}/day?date={day}", {}),
        }
        self.tags = {who: self._get(who).headers["etag"] for who in self.paths}

    def _get(self, who: str, tag: str | None = None) -> httpx.Response:
        path, headers = self.paths[who]
        answer = self.client.get(path, headers=headers | ({"If-None-Match": tag} if tag else {}))
        assert answer.status_code in (200, 304), answer.text
        return answer

    def lesson(self, who: str, session_id: int) -> dict[str, Any]:
        """Return the lesson `session_id` as the schedule shows it to `who`."""
        body = self._get(who).json()
        found = [s for t in body["teachers"] for s in t["sessions"] if s["id"] == session_id]
        assert len(found) == 1, body
        return found[0]

    def changed_by(self, what: str, write: Callable[[], object]) -> None:
        """Assert that every view answered 304 before `write`, and 200 with a new tag after."""
        for who, tag in self.tags.items():
            assert self._get(who, tag).status_code == 304, who
        write()
        for who, tag in self.tags.items():
            fresh = self._get(who, tag)
            assert fresh.status_code == 200, f"{what} did not change B's ETag ({who})"
            assert fresh.headers["etag"] != tag
            self.tags[who] = fresh.headers["etag"]


def _post(client: TestClient, world: World, path: str, body: object) -> None:
    answer = client.post(path, json=body, headers=bearer(world.admin))
    assert answer.is_success, answer.text


@pytest.mark.parametrize("change", ["move away", "cancel"])
def test_a_lesson_of_a_that_names_one_of_b_changes_bs_day(
    client: TestClient, world: World, committed_engine: Engine, change: str
) -> None:
    w = world
    y = book(committed_engine, w, THURSDAY, "10:00", "11:00", branch_id=w.branch_b)
    x = book(committed_engine, w, THURSDAY, "10:30", "11:30", student_id=w.student_2)
    day = DayOfB(client, w, committed_engine)
    for who in ("staff", "admin"):
        later = day.lesson(who, y)["clashed_by"]
        assert [(c["start_time"], c["hidden"]) for c in later] == [("10:30", who == "staff")]
    if change == "move away":
        moved = {"start_time": "14:00", "end_time": "15:00"}
        write = lambda: _post(client, w, f"/api/class-sessions/{x}/move", moved)  # noqa: E731
    else:
        write = lambda: _post(client, w, f"/api/class-sessions/{x}/cancel", {"reason": "ill"})  # noqa: E731
    day.changed_by(change, write)
    for who in ("staff", "admin"):
        assert day.lesson(who, y)["clashed_by"] == [], who


def test_a_lesson_of_a_named_by_one_of_b_changes_bs_day_when_it_moves_within_the_clash(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    w = world
    x = book(committed_engine, w, THURSDAY, "10:00", "11:00")
    y = book(committed_engine, w, THURSDAY, "10:30", "11:30", branch_id=w.branch_b)
    day = DayOfB(client, w, committed_engine)
    assert [c["start_time"] for c in day.lesson("admin", y)["conflicts_with"]] == ["10:00"]
    moved = {"start_time": "10:15", "end_time": "11:15"}
    day.changed_by("a move", lambda: _post(client, w, f"/api/class-sessions/{x}/move", moved))
    for who in ("staff", "admin"):
        named = day.lesson(who, y)["conflicts_with"]
        assert [(c["start_time"], c["hidden"]) for c in named] == [("10:15", who == "staff")]


def test_deleting_a_lesson_of_a_named_by_one_of_b_changes_bs_day(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    w = world
    x = book(committed_engine, w, THURSDAY, "10:00", "11:00")
    y = book(committed_engine, w, THURSDAY, "10:30", "11:30", branch_id=w.branch_b)
    day = DayOfB(client, w, committed_engine)

    def delete() -> None:  # no route deletes a lesson; an operator's repair may
        with session_scope(committed_engine) as s:
            s.execute(text("DELETE FROM class_sessions WHERE id = :x"), {"x": x})

    day.changed_by("a delete", delete)
    assert day.lesson("admin", y)["conflicts_with"] == []


@pytest.mark.parametrize("how", ["a booking", "a series"])
def test_a_new_lesson_of_a_that_clashes_with_one_of_b_changes_bs_day(
    client: TestClient, world: World, committed_engine: Engine, how: str
) -> None:
    w = world
    y = book(committed_engine, w, THURSDAY, "20:00", "21:00", branch_id=w.branch_b)
    day = DayOfB(client, w, committed_engine)
    if how == "a booking":  # inserted, then its verdict written
        day.changed_by(how, lambda: book(committed_engine, w, THURSDAY, "20:30", "21:30"))
    else:  # generated: inserted with its verdict
        series = series_body(w, student_id=w.student_2, start_time="20:30", end_time="21:30")
        day.changed_by(how, lambda: _post(client, w, "/api/class-series", series))
    assert [c["start_time"] for c in day.lesson("admin", y)["clashed_by"]] == ["20:30"]
