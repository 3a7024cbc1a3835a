"""The day's ETag changes with every kind of schedule change, and only then (304)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from komawari.auth import users
from komawari.auth.enums import Role
from komawari.branches.models import Branch
from komawari.db.engine import session_scope
from komawari.ops import backup
from tests import factories as f
from tests.factories.world import SETUP, World, bearer, next_weekday, series_body
from tests.web.pages import make_user, sign_in

THURSDAY = next_weekday(4)


class View:
    """One conditional GET as one client sees it: its path, headers and last ETag."""

    def __init__(self, client: TestClient, path: str, headers: dict[str, str]) -> None:
        self.client, self.path, self.headers = client, path, headers
        self.tag = self.get().headers["etag"]

    def get(self, tag: str | None = None) -> httpx.Response:
        headers = self.headers | ({"If-None-Match": tag} if tag else {})
        return self.client.get(self.path, headers=headers)


class Day(View):
    """The schedule of branch A on one day, as its admin sees it."""

    def __init__(self, client: TestClient, world: World) -> None:
        path = f"/api/branches/{world.branch_a}/schedule?date={THURSDAY.isoformat()}"
        super().__init__(client, path, bearer(world.admin))

    def changed_by(self, what: str, write: Callable[[], httpx.Response]) -> None:
        """Assert that `write` succeeds and gives the day a new ETag; then 304 again."""
        Views([self]).changed_by(what, write)


class Views:
    """Views of branch A that must all change with it: the day, the session list, a week."""

    def __init__(self, views: list[View]) -> None:
        self.views = views

    def changed_by(self, what: str, write: Callable[[], httpx.Response]) -> None:
        """Assert that `write` succeeds and gives every view a new ETag; then 304 again."""
        answer = write()
        assert answer.is_success, (what, answer.text)
        for view in self.views:
            fresh = view.get(view.tag)
            assert fresh.status_code == 200, f"{what} did not change the ETag of {view.path}"
            assert fresh.headers["etag"] != view.tag
            view.tag = fresh.headers["etag"]
            assert view.get(view.tag).status_code == 304, view.path

    def unchanged(self) -> None:
        """Assert that every view still answers 304 to its last ETag."""
        for view in self.views:
            assert view.get(view.tag).status_code == 304, view.path


def test_an_unchanged_day_answers_304_without_a_body(client: TestClient, world: World) -> None:
    day = Day(client, world)
    full = day.get()
    assert full.headers["cache-control"] == "private, no-cache"
    assert full.json()["date"] == THURSDAY.isoformat()
    again = day.get(day.tag)
    assert (again.status_code, again.content) == (304, b"")
    assert again.headers["etag"] == day.tag
    assert again.headers["cache-control"] == "private, no-cache"
    assert day.get(f'W/{day.tag}, "other"').status_code == 304
    assert day.get('"other"').status_code == 200


def test_the_tag_names_the_day_and_the_caller(client: TestClient, world: World) -> None:
    day = Day(client, world)
    other_day = client.get(
        f"/api/branches/{world.branch_a}/schedule?date={(THURSDAY + timedelta(1)).isoformat()}",
        headers=bearer(world.admin),
    )
    staff = client.get(day.path, headers=bearer(world.staff_a))
    assert len({day.tag, other_day.headers["etag"], staff.headers["etag"]}) == 3


def test_every_kind_of_schedule_change_changes_the_tag(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    admin, w = bearer(world.admin), world
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303  # the pages: a staff member of branch A
    listed = f"/api/class-sessions?branch_id={w.branch_a}&date={THURSDAY.isoformat()}"
    week = f"/teachers/{w.teacher_1}/week?date={THURSDAY.isoformat()}"
    day = Views([Day(client, world), View(client, listed, admin), View(client, week, {})])

    def post(path: str, body: object) -> httpx.Response:
        return client.post(path, json=body, headers=admin)

    with session_scope(committed_engine) as s:  # a series not materialised yet
        branch = s.get(Branch, w.branch_a)
        f.private_series(s, branch_row=branch, weekdays=0b0001000, first_date=date.today())
    day.changed_by("generation", lambda: post("/api/generation-runs", {"branch_id": w.branch_a}))
    created = post("/api/class-series", series_body(w, weekdays=[4]))
    day.changed_by("a series", lambda: created)
    series = created.json()["id"]
    one_off = {
        "branch_id": w.branch_a,
        "teacher_id": w.teacher_2,
        "student_id": w.student_2,
        "date": THURSDAY.isoformat(),
        "start_time": "16:00",
        "end_time": "17:00",
    }
    booked = post("/api/class-sessions", one_off)
    day.changed_by("a one-off", lambda: booked)
    lesson = booked.json()["id"]
    moved = {"start_time": "17:00", "end_time": "18:00", "room_id": w.room_a}
    day.changed_by("a move", lambda: post(f"/api/class-sessions/{lesson}/move", moved))
    reason = {"reason": "ill"}
    day.changed_by("a cancel", lambda: post(f"/api/class-sessions/{lesson}/cancel", reason))
    closure = {"date": THURSDAY.isoformat(), "reason": "repairs"}
    day.changed_by("a closure", lambda: post(f"/api/branches/{w.branch_a}/closures", closure))
    day.changed_by(
        "a reopening",
        lambda: client.delete(
            f"/api/branches/{w.branch_a}/closures/{THURSDAY.isoformat()}", headers=admin
        ),
    )
    day.changed_by("a pause", lambda: post(f"/api/class-series/{series}/pause", {}))
    day.changed_by("a resume", lambda: post(f"/api/class-series/{series}/resume", None))
    end = {"last_date": (THURSDAY + timedelta(7)).isoformat(), "reason": "moving"}
    day.changed_by("an end", lambda: post(f"/api/class-series/{series}/end", end))
    extend = {"last_date": (THURSDAY + timedelta(28)).isoformat()}
    day.changed_by("an extension", lambda: post(f"/api/class-series/{series}/extend", extend))
    group = post(
        "/api/class-series",
        series_body(
            w,
            kind="GROUP",
            student_id=None,
            teacher_id=w.teacher_2,
            title="Conversation",
            capacity=3,
            student_ids=[w.student_3],
            weekdays=[4],
            start_time="10:00",
            end_time="11:00",
        ),
    )
    day.changed_by("a group series", lambda: group)
    enrol = {"student_id": w.student_1, "from_date": date.today().isoformat()}
    day.changed_by(
        "an enrolment", lambda: post(f"/api/class-series/{group.json()['id']}/enrolments", enrol)
    )
    for kind, row_id in (("teachers", w.teacher_1), ("students", w.student_1)):
        day.changed_by(
            f"renaming {kind}",
            lambda k=kind, i=row_id: client.patch(
                f"/api/{k}/{i}", json={"name": f"{k} renamed"}, headers=admin
            ),
        )
    room = {"branch_id": w.branch_a, "name": "A2", "capacity": 2}
    day.changed_by("a new room", lambda: post("/api/rooms", room))
    quiet = client.post(f"/api/branches/{w.branch_b}/closures", json=closure, headers=admin)
    assert quiet.status_code == 201
    day.unchanged()  # another branch's change keeps the tags of branch A's views


def test_the_day_page_revalidates_per_user_and_language(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303
    path = f"/branches/{world.branch_a}/day?date={THURSDAY.isoformat()}"
    first = client.get(path)
    tag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache"
    again = client.get(path, headers={"If-None-Match": tag})
    assert (again.status_code, again.content) == (304, b"")
    closure = {"date": THURSDAY.isoformat(), "reason": "repairs"}
    added = client.post(
        f"/api/branches/{world.branch_a}/closures", json=closure, headers=bearer(world.admin)
    )
    assert added.status_code == 201
    changed = client.get(path, headers={"If-None-Match": tag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != tag
    tag = changed.headers["etag"]
    other_view = client.get(path + "&by=room", headers={"If-None-Match": tag})
    assert other_view.status_code == 200
    japanese = client.get(path, headers={"If-None-Match": tag, "Accept-Language": "ja"})
    assert japanese.status_code == 200, "the language is part of the tag"
    make_user(committed_engine, "office-2", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office-2") == 303
    assert client.get(path, headers={"If-None-Match": tag}).status_code == 200


def test_a_restore_never_brings_back_a_tag_for_other_content(
    client: TestClient, world: World, committed_engine: Engine, tmp_path: Path
) -> None:
    # The counters go back to the backup's; the same number of changes after it must not
    # give a client's later tag (of other content) back.
    path, admin = f"/api/teachers/{world.teacher_1}", bearer(world.admin)
    lesson = {
        "branch_id": world.branch_a,
        "teacher_id": world.teacher_1,
        "student_id": world.student_1,
        "date": THURSDAY.isoformat(),
        "start_time": "16:00",
        "end_time": "17:00",
    }
    assert client.post("/api/class-sessions", json=lesson, headers=admin).status_code == 201
    day = Day(client, world)
    archive = backup.backup(committed_engine, folder=tmp_path)
    day.changed_by("a rename", lambda: client.patch(path, json={"name": "Ito"}, headers=admin))
    later = day.tag
    backup.restore(committed_engine, archive.path)
    renamed = client.patch(path, json={"name": "Kato"}, headers=admin)
    assert renamed.is_success
    again = day.get(later)
    assert again.status_code == 200, "a tag from before the restore named other content"
    assert again.headers["etag"] != later
    assert "Kato" in again.text


def test_every_revalidation_checks_the_token_and_the_grant_again(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    # The 304 and the kept answer never outlive the caller's right to them.
    path = f"/api/branches/{world.branch_a}/schedule?date={THURSDAY.isoformat()}"
    staff = View(client, path, bearer(world.staff_a))
    assert staff.get(staff.tag).status_code == 304
    with session_scope(committed_engine) as s:
        users.revoke_branch(s, username="staff-a", branch_id=world.branch_a, actor=SETUP)
    assert staff.get(staff.tag).status_code == 404
    assert staff.get().status_code == 404
    admin = View(client, path, bearer(world.admin))
    with session_scope(committed_engine) as s:
        s.execute(text("UPDATE api_tokens SET expires_at = now() - interval '1 second'"))
    expired = admin.get(admin.tag)
    assert expired.status_code == 401
    assert "expired" in expired.text
    with session_scope(committed_engine) as s:
        s.execute(text("UPDATE api_tokens SET expires_at = NULL"))
        users.disable(s, username="admin", actor=SETUP)
    assert admin.get(admin.tag).status_code == 401
    assert admin.get().status_code == 401


def test_a_new_branch_redraws_the_headers_switcher(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    """An admin's header lists every branch: a branch added since the page was drawn gives
    the day a new ETag, and the switcher names it."""
    make_user(committed_engine, "head", Role.ADMIN)
    assert sign_in(client, "head") == 303
    path = f"/branches/{world.branch_a}/day?date={THURSDAY.isoformat()}"
    tag = client.get(path).headers["etag"]
    assert client.get(path, headers={"If-None-Match": tag}).status_code == 304
    added = client.post("/api/branches", json={"name": "Nagoya"}, headers=bearer(world.admin))
    assert added.status_code == 201, added.text
    again = client.get(path, headers={"If-None-Match": tag})
    assert again.status_code == 200, "the header's branches are part of the tag"
    assert "Nagoya" in again.text
