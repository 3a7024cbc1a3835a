"""Users managed from the browser: a new user gets a one-time link, sets their password
and signs in; an admin resets, disables, signs out and changes roles; a user changes their
own password at /me; the last admin stays; a locked-out user is told when to try again."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from komawari.audit.models import AuditEvent
from komawari.audit.service import Actor
from komawari.auth import accounts, web_sessions
from komawari.auth.enums import Role
from komawari.auth.models import PasswordLink, User, UserBranch
from komawari.db.engine import session_scope
from komawari.errors import KomawariError
from tests.factories.world import World
from tests.web.pages import PASSWORD, csrf_of, make_user, sign_in

NEW_PASSWORD = "a brand new secret"
LINK = re.compile(r'id="issued-link" readonly size="60" value="[^"]*?(/password/kpw_[^"]+)"')


def _user_id(engine: Engine, name: str) -> int:
    with session_scope(engine) as s:
        found = s.scalar(select(User.id).where(User.username == name))
        assert found is not None
        return found


def _admin(client: TestClient, engine: Engine, name: str = "boss") -> None:
    make_user(engine, name, Role.ADMIN)
    assert sign_in(client, name) == 303


def _add_user(client: TestClient, **form: object) -> tuple[int, str]:
    page = client.get("/users")
    answer = client.post("/users", data={"csrf_token": csrf_of(page.text), **form})
    return answer.status_code, answer.text


def _at_once(calls: list[Callable[[Session], object]], engine: Engine) -> list[str]:
    """Run each call in its own committed transaction, all at the same moment; return the
    outcomes, sorted: "done" or the refusal's class name."""
    start = threading.Barrier(len(calls))
    outcomes: list[str] = []

    def one(call: Callable[[Session], object]) -> None:
        try:
            with session_scope(engine) as s:
                start.wait()
                call(s)
            outcomes.append("done")
        except KomawariError as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=one, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return sorted(outcomes)


def _set_password(browser: TestClient, path: str, password: str, repeat: str | None = None) -> int:
    form = browser.get(path)
    answer = browser.post(
        path,
        data={"csrf_token": csrf_of(form.text), "password": password,
              "repeat": password if repeat is None else repeat},
        follow_redirects=False,
    )  # fmt: skip
    return answer.status_code


def test_an_admin_adds_a_staff_user_who_sets_a_password_once_and_lands_on_their_branch(
    client: TestClient, app: FastAPI, world: World, committed_engine: Engine
) -> None:
    _admin(client, committed_engine)
    status, html = _add_user(
        client, username="hanako", role="staff", branch_ids=str(world.branch_b)
    )
    assert status == 201
    found = LINK.search(html)
    assert found, "the new user's one-time link is shown"
    path = found.group(1)
    assert "it is not shown again" in html
    listed = client.get("/users").text
    assert "hanako" in listed
    assert "Waiting to set a password" in listed
    assert path not in listed, "the link is shown once"
    with session_scope(committed_engine) as s:
        stored = s.scalars(select(PasswordLink.token_hash)).one()
    assert path.removeprefix("/password/") not in stored

    with TestClient(app) as newcomer:
        assert "hanako" in newcomer.get(path).text
        assert _set_password(newcomer, path, "short") == 422
        assert _set_password(newcomer, path, NEW_PASSWORD, "something else") == 422
        assert _set_password(newcomer, path, NEW_PASSWORD) == 303
        assert newcomer.get("/sign-in?done=password").status_code == 200
        assert sign_in(newcomer, "hanako", NEW_PASSWORD) == 303
        landing = newcomer.get("/", follow_redirects=False)
        assert landing.headers["location"] == f"/branches/{world.branch_b}/day"
        # The link worked once.
        again = newcomer.get(path)
        assert again.status_code == 404
        assert "used or has expired" in again.text
    with TestClient(app) as thief:
        thief.get("/sign-in")
        assert _set_password(thief, path, "the thief's password") == 404
    assert "Active" in client.get("/users").text


def test_two_uses_of_one_link_at_once_set_one_password(
    world: World, committed_engine: Engine
) -> None:
    with session_scope(committed_engine) as s:
        issued = accounts.create(s, username="kenta", role=Role.STAFF,
                                 branch_ids=[world.branch_a], teacher_id=None,
                                 actor=Actor("test", "setup"))  # fmt: skip
    calls = [
        lambda s, p=p: accounts.use_link(s, secret=issued.secret, password=p, repeat=p)
        for p in ("first password", "second one!")
    ]
    assert _at_once(calls, committed_engine) == ["LinkUsed", "done"]


def test_an_expired_link_sets_nothing(world: World, committed_engine: Engine, app: FastAPI) -> None:
    with session_scope(committed_engine) as s:
        issued = accounts.create(s, username="late", role=Role.STAFF,
                                 branch_ids=[world.branch_a], teacher_id=None,
                                 actor=Actor("test", "setup"))  # fmt: skip
        s.execute(
            update(PasswordLink).values(
                created_at=func.now() - accounts.LINK_LIFETIME - timedelta(seconds=2),
                expires_at=func.now() - timedelta(seconds=1),
            )
        )
    with TestClient(app) as browser:
        assert browser.get(issued.path).status_code == 404
        browser.get("/sign-in")
        assert _set_password(browser, issued.path, NEW_PASSWORD) == 404
    with session_scope(committed_engine) as s:
        assert s.scalar(select(User.password_hash).where(User.username == "late")) is None


def test_a_reset_ends_the_old_password_and_every_session_and_a_new_link_sets_one(
    client: TestClient, app: FastAPI, world: World, committed_engine: Engine
) -> None:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    with TestClient(app) as office:
        assert sign_in(office, "office") == 303
        assert office.get("/", follow_redirects=False).status_code == 303
        _admin(client, committed_engine)
        user_id = _user_id(committed_engine, "office")
        page = client.get(f"/users/{user_id}")
        answer = client.post(f"/users/{user_id}/reset", data={"csrf_token": csrf_of(page.text)})
        assert answer.status_code == 200
        path = LINK.search(answer.text)
        assert path, "the reset link is shown"
        # The session the old password opened has ended.
        assert office.get("/", follow_redirects=False).headers["location"].startswith("/sign-in")
    with TestClient(app) as office:
        assert sign_in(office, "office", PASSWORD) == 401
        assert _set_password(office, path.group(1), NEW_PASSWORD) == 303
        assert sign_in(office, "office", NEW_PASSWORD) == 303
    with session_scope(committed_engine) as s:
        actions = set(s.scalars(select(AuditEvent.action)))
    assert {"user.password_reset", "user.password_link", "user.password"} <= actions


def test_changing_ones_own_password_ends_the_other_sessions_and_keeps_this_one(
    app: FastAPI, world: World, committed_engine: Engine
) -> None:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    with TestClient(app) as phone, TestClient(app) as desk:
        assert sign_in(phone, "office") == 303
        assert sign_in(desk, "office") == 303
        me = desk.get("/me")
        assert me.status_code == 200
        assert "Change my password" in me.text
        token = csrf_of(me.text)
        new = {"password": NEW_PASSWORD, "repeat": NEW_PASSWORD}
        wrong = desk.post("/me/password", data={"csrf_token": token, "current": "not it", **new})
        assert wrong.status_code == 422
        assert "not your current password" in wrong.text
        assert phone.get("/me").status_code == 200, "a refused change ends nothing"
        done = desk.post("/me/password", data={"csrf_token": token, "current": PASSWORD, **new},
                         follow_redirects=False)  # fmt: skip
        assert done.status_code == 303
        assert desk.get("/me").status_code == 200, "this browser stays signed in"
        assert phone.get("/me", follow_redirects=False).status_code == 303, "the other ended"
    with TestClient(app) as fresh:
        assert sign_in(fresh, "office", PASSWORD) == 401
        assert sign_in(fresh, "office", NEW_PASSWORD) == 303


def test_a_user_picks_their_language_at_me_or_follows_the_browser(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303
    token = csrf_of(client.get("/me").text)
    client.post("/me/language", data={"csrf_token": token, "locale": "ja"})
    assert "パスワードを変更" in client.get("/me", headers={"Accept-Language": "en"}).text
    client.post("/me/language", data={"csrf_token": token, "locale": ""})
    assert "Change my password" in client.get("/me", headers={"Accept-Language": "en"}).text
    assert (
        client.post("/me/language", data={"csrf_token": token, "locale": "fr"}).status_code == 422
    )
    with session_scope(committed_engine) as s:
        assert s.scalar(select(User.locale).where(User.username == "office")) is None


def test_an_admin_changes_a_role_and_branches_disables_enables_and_signs_out(
    client: TestClient, app: FastAPI, world: World, committed_engine: Engine
) -> None:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    user_id = _user_id(committed_engine, "office")
    _admin(client, committed_engine)
    token = csrf_of(client.get(f"/users/{user_id}").text)
    saved = client.post(
        f"/users/{user_id}",
        data={"csrf_token": token, "role": "staff", "branch_ids": [str(world.branch_b)]},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    with session_scope(committed_engine) as s:
        grants = s.scalars(select(UserBranch.branch_id).where(UserBranch.user_id == user_id))
        assert list(grants) == [world.branch_b]
    # A teacher's account needs its teacher; the form keeps what was ticked.
    refused = client.post(
        f"/users/{user_id}",
        data={"csrf_token": token, "role": "teacher", "branch_ids": [str(world.branch_a)]},
    )
    assert refused.status_code == 422
    assert "needs the teacher" in refused.text
    assert f'value="{world.branch_a}" checked' in refused.text
    teacher = {"role": "teacher", "teacher_id": str(world.teacher_1)}
    client.post(f"/users/{user_id}", data={"csrf_token": token, **teacher})
    with session_scope(committed_engine) as s:
        user = s.get_one(User, user_id)
        assert (user.role, user.teacher_id) == (Role.TEACHER, world.teacher_1)

    with TestClient(app) as office:
        assert sign_in(office, "office") == 303
        client.post(f"/users/{user_id}/end-sessions", data={"csrf_token": token})
        assert office.get("/", follow_redirects=False).headers["location"].startswith("/sign-in")
        assert sign_in(office, "office") == 303
        client.post(f"/users/{user_id}/disable", data={"csrf_token": token})
        assert office.get("/", follow_redirects=False).headers["location"].startswith("/sign-in")
        assert sign_in(office, "office") == 401
        assert "Disabled" in client.get("/users").text
        client.post(f"/users/{user_id}/enable", data={"csrf_token": token})
        assert sign_in(office, "office") == 303
    with session_scope(committed_engine) as s:
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == user_id)))
    for action in ("user.update", "user.end_sessions", "user.disable", "user.enable"):
        assert action in actions


def test_bad_user_forms_are_refused_named_and_keep_what_was_typed(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    _admin(client, committed_engine)
    with session_scope(committed_engine) as s:
        before = s.scalar(select(func.count()).select_from(User))
    status, html = _add_user(client, username="nobranch", role="staff")
    assert status == 422
    assert "one branch or more" in html
    assert 'value="nobranch"' in html
    status, html = _add_user(client, username="boss", role="staff", branch_ids=str(world.branch_a))
    assert status == 409
    assert "already exists" in html
    status, html = _add_user(client, username="with space", role="admin")
    assert status == 422
    assert "no spaces" in html
    status, html = _add_user(client, username="x", role="owner")
    assert status == 422
    assert "pick a role" in html
    status, html = _add_user(client, username="y", role="staff", branch_ids="abc")
    assert status == 422
    assert "pick branches" in html
    status, html = _add_user(client, username="z", role="staff", branch_ids="999999")
    assert status == 422
    assert "branch 999999 does not exist" in html
    with session_scope(committed_engine) as s:
        assert s.scalar(select(func.count()).select_from(User)) == before
        assert s.scalar(select(func.count()).select_from(PasswordLink)) == 0


def test_only_admins_reach_the_users_pages(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303
    assert client.get("/users").status_code == 403
    token = csrf_of(client.get("/me").text)
    answer = client.post("/users", data={"csrf_token": token, "username": "sneaky",
                                         "role": "admin"})  # fmt: skip
    assert answer.status_code == 403
    own = _user_id(committed_engine, "office")
    assert client.post(f"/users/{own}/reset", data={"csrf_token": token}).status_code == 403
    with session_scope(committed_engine) as s:
        assert s.scalar(select(User.id).where(User.username == "sneaky")) is None
        assert s.scalar(select(User.password_hash).where(User.id == own)) is not None


def test_the_last_admin_can_be_neither_disabled_nor_demoted(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    # The world's token admin counts: disable it, so "boss" is the last one.
    with session_scope(committed_engine) as s:
        s.execute(update(User).where(User.role == Role.ADMIN).values(is_active=False))
    _admin(client, committed_engine)
    boss = _user_id(committed_engine, "boss")
    token = csrf_of(client.get(f"/users/{boss}").text)
    demoted = client.post(f"/users/{boss}", data={"csrf_token": token, "role": "staff",
                                                  "branch_ids": str(world.branch_a)})  # fmt: skip
    assert demoted.status_code == 409
    assert "last active admin" in demoted.text
    assert client.post(f"/users/{boss}/disable", data={"csrf_token": token}).status_code == 409
    with session_scope(committed_engine) as s:
        user = s.get_one(User, boss)
        assert (user.role, user.is_active) == (Role.ADMIN, True)


def test_two_admins_disabling_each_other_at_once_leave_one_admin(
    world: World, committed_engine: Engine
) -> None:
    with session_scope(committed_engine) as s:
        s.execute(update(User).where(User.role == Role.ADMIN).values(is_active=False))
    make_user(committed_engine, "ann", Role.ADMIN)
    make_user(committed_engine, "ben", Role.ADMIN)
    ids = {n: _user_id(committed_engine, n) for n in ("ann", "ben")}
    calls = [
        lambda s, n=n: accounts.disable(s, user_id=ids[n], actor=Actor("test", n))
        for n in ("ann", "ben")
    ]
    assert _at_once(calls, committed_engine) == ["Conflict", "done"]
    with session_scope(committed_engine) as s:
        active = s.scalar(
            select(func.count()).where(User.role == Role.ADMIN, User.is_active.is_(True))
        )
    assert active == 1


@pytest.mark.parametrize("name", ["office", "nobody-here"])
def test_a_locked_out_user_is_told_when_to_try_again_without_learning_if_they_exist(
    client: TestClient, world: World, committed_engine: Engine, name: str
) -> None:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    for _ in range(web_sessions.MAX_FAILURES_PER_USER):
        assert sign_in(client, name, "wrong password") == 401
    form = client.get("/sign-in")
    answer = client.post("/sign-in", data={"csrf_token": csrf_of(form.text), "username": name,
                                           "password": PASSWORD, "next": "/"})  # fmt: skip
    assert answer.status_code == 429
    assert "You can try again in 15 minutes." in answer.text
    assert "an administrator can give you a link" in answer.text
    assert int(answer.headers["retry-after"]) > 14 * 60
    ja = client.post("/sign-in", headers={"Accept-Language": "ja"},
                     data={"csrf_token": csrf_of(form.text), "username": name,
                           "password": PASSWORD, "next": "/"})  # fmt: skip
    assert "15分後" in ja.text


def test_the_list_shows_each_users_last_sign_in_in_the_schools_zone(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    _admin(client, committed_engine)
    with session_scope(committed_engine) as s:
        s.execute(
            update(User)
            .where(User.username == "boss")
            .values(last_sign_in_at=datetime(2026, 12, 7, 5, 45, tzinfo=UTC))
        )
    html = client.get("/users", headers={"Accept-Language": "en"}).text
    row = html[html.index('id="user-') :]
    assert "Dec 7, 2026 14:45" in row  # 05:45 UTC in Asia/Tokyo
    assert "Times are in Asia/Tokyo." in html
