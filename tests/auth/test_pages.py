"""Signing in to the pages: a server-side session behind a cookie, CSRF on every form,
throttled guessing, and an end to every session the moment it should end."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from komawari.audit.models import AuditEvent
from komawari.audit.service import Actor
from komawari.auth import users, web_sessions
from komawari.auth.enums import Role
from komawari.auth.models import SignInFailure, User, WebSession
from komawari.db.engine import session_scope
from tests.factories.world import World
from tests.web.pages import PASSWORD, csrf_of, make_user, sign_in


def _count(engine: Engine, model: type) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_sign_in_opens_a_session_behind_an_httponly_lax_cookie(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    form = client.get("/sign-in")
    answer = client.post(
        "/sign-in",
        data={"csrf_token": csrf_of(form.text), "username": "office", "password": PASSWORD,
              "next": "/students/1/week"},
        follow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 303
    assert answer.headers["location"] == "/students/1/week"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if "komawari_session" in c)
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie
    assert _count(committed_engine, WebSession) == 1
    with session_scope(committed_engine) as s:
        row = s.scalars(select(WebSession)).one()
        secret = client.cookies["komawari_session"]
        assert row.token_hash != secret
        assert secret not in row.token_hash
        actions = s.scalars(select(AuditEvent.action)).all()
    assert "web_session.sign_in" in actions
    assert client.get("/", follow_redirects=False).headers["location"] == (
        f"/branches/{world.branch_a}/day"
    )


def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    client.get("/sign-in")
    data = {"username": "office", "password": PASSWORD, "next": "/"}
    assert client.post("/sign-in", data=data, follow_redirects=False).status_code == 403
    wrong = client.post("/sign-in", data=data | {"csrf_token": "x" * 43}, follow_redirects=False)
    assert wrong.status_code == 403
    assert _count(committed_engine, WebSession) == 0
    assert sign_in(client, "office") == 303
    before = _count(committed_engine, WebSession)
    out = client.post("/sign-out", data={}, follow_redirects=False)
    assert out.status_code == 403
    assert _count(committed_engine, WebSession) == before
    assert client.get("/", follow_redirects=False).status_code == 303  # still signed in
    assert "/sign-in" not in client.get("/", follow_redirects=False).headers["location"]


def test_a_wrong_password_is_counted_and_guessing_is_throttled(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    for _ in range(web_sessions.MAX_FAILURES_PER_USER):
        assert sign_in(client, "office", "wrong password!") == 401
    assert _count(committed_engine, SignInFailure) == web_sessions.MAX_FAILURES_PER_USER
    # The right password is refused too until the window has passed.
    assert sign_in(client, "office") == 429
    assert _count(committed_engine, WebSession) == 0


def test_failures_from_one_address_are_throttled_across_user_names(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    for i in range(web_sessions.MAX_FAILURES_PER_ADDRESS):
        assert sign_in(client, f"nobody-{i}", "guess") == 401
    assert sign_in(client, "office") == 429


def test_sign_out_ends_the_session_at_once(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303
    secret = client.cookies["komawari_session"]
    page = client.get(f"/branches/{world.branch_a}/day")
    assert page.status_code == 200
    out = client.post("/sign-out", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    client.cookies.set("komawari_session", secret)  # a copied cookie does not come back
    again = client.get(f"/branches/{world.branch_a}/day", follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"].startswith("/sign-in?next=")


def test_disabling_a_user_ends_their_sessions_and_tokens_at_once(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303
    assert client.get(f"/branches/{world.branch_a}/day").status_code == 200
    with session_scope(committed_engine) as s:
        ended = users.disable(s, username="office", actor=Actor("test", "setup"))
    assert ended["web_sessions_ended"] == 1
    page = client.get(f"/branches/{world.branch_a}/day", follow_redirects=False)
    assert page.status_code == 303
    assert "/sign-in" in page.headers["location"]
    assert sign_in(client, "office") == 401


def test_an_expired_or_idle_session_no_longer_opens_pages(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303
    url = f"/branches/{world.branch_a}/day"
    with session_scope(committed_engine) as s:
        row = s.scalars(select(WebSession)).one()
        row.last_seen_at = row.last_seen_at - web_sessions.IDLE_TIMEOUT
    assert client.get(url, follow_redirects=False).status_code == 303


def test_sign_in_goes_on_only_to_a_page_of_this_site(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        client.cookies.clear()
        form = client.get("/sign-in")
        answer = client.post(
            "/sign-in",
            data={"csrf_token": csrf_of(form.text), "username": "office", "password": PASSWORD,
                  "next": target},
            follow_redirects=False,
        )  # fmt: skip
        assert answer.headers["location"] == "/"


def test_pages_follow_the_browser_language_and_the_users_choice(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    assert "サインイン" in client.get("/sign-in", headers={"Accept-Language": "ja"}).text
    assert "Sign in" in client.get("/sign-in", headers={"Accept-Language": "en"}).text
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303
    page = client.get(f"/branches/{world.branch_a}/day")
    assert 'lang="en"' in page.text
    switched = client.post(
        "/language",
        data={"csrf_token": csrf_of(page.text), "locale": "ja", "next": page.url.path},
        follow_redirects=False,
    )
    assert switched.status_code == 303
    with session_scope(committed_engine) as s:
        assert s.scalar(select(User.locale).where(User.username == "office")) == "ja"
    again = client.get(f"/branches/{world.branch_a}/day", headers={"Accept-Language": "en"})
    assert 'lang="ja"' in again.text
    assert "時間割" in again.text


def test_a_page_needs_a_signed_in_user(client: TestClient, world: World) -> None:
    answer = client.get(f"/branches/{world.branch_a}/day?date=2026-12-03", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == (
        f"/sign-in?next=%2Fbranches%2F{world.branch_a}%2Fday%3Fdate%3D2026-12-03"
    )
