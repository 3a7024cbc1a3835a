"""Signing in, hardened: guessing is throttled atomically, a name's existence does not
show in the time of a wrong password, and a new sign-in or a new password ends the web
sessions it should.

The argon2 verifications are counted by wrapping `PasswordHasher.verify` (the original
still runs). Where a test is about counts, not time, users get a hash made with cheap
argon2 parameters (argon2 reads them from the stored hash, so a verify costs microseconds
instead of ~0.3 s); the concurrent tests then add a sleep of a real verify's duration to
each, so that the race keeps its production-sized window without 100 verifies' CPU and
memory. Unknown, disabled and password-less users are checked against the product's dummy
hash, with the hasher's own parameters, and the timing test's known user has a real hash.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session

from komawari.audit.service import Actor
from komawari.auth import service as auth
from komawari.auth import users, web_sessions
from komawari.auth.enums import Role
from komawari.auth.models import SignInFailure, WebSession
from komawari.db.engine import session_scope
from komawari.errors import Unauthorized
from tests.factories.world import World
from tests.web.pages import PASSWORD, make_user, sign_in

ACTOR = Actor("test", "setup")
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
TRIES = 100
ARGON2_SECONDS = 0.3  # what a verify with the hasher's own parameters costs here


@dataclass
class Verifications:
    """How many argon2 verifications ran (any hasher, any thread)."""

    count: int = 0
    # Added to each verify: a cheap hash then takes as long as a real one (~0.3 s here),
    # without its CPU and memory, so a race has the window it has in production.
    delay: float = 0.0

    def __post_init__(self) -> None:
        self.lock = threading.Lock()


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> Verifications:
    """Count every argon2 verify; each still runs the real one."""
    counted = Verifications()
    original = PasswordHasher.verify

    def verify(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        with counted.lock:
            counted.count += 1
        time.sleep(counted.delay)
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", verify)
    return counted


def cheap_users(engine: Engine, *names: str, role: Role = Role.ADMIN) -> None:
    """Create users who sign in with PASSWORD, hashed with cheap argon2 parameters."""
    stored = CHEAP.hash(PASSWORD)
    with session_scope(engine) as s:
        for name in names:
            user, _ = auth.ensure_user(s, username=name, role=role, actor=ACTOR)
            user.password_hash = stored


def rows(engine: Engine, model: type[SignInFailure] | type[WebSession]) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def concurrently(engine: Engine, tries: list[tuple[str, str]], password: str) -> Counter[str]:
    """Sign in with `password` for each (user name, address) at once, each thread on its own
    session and connection, committing what its try did; return the outcomes."""
    barrier = threading.Barrier(len(tries))
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def attempt(username: str, address: str) -> None:
        barrier.wait(timeout=30)
        with Session(engine) as db:
            try:
                opened = web_sessions.sign_in(
                    db, username=username, password=password, address=address
                )
                db.commit()
                outcome = "wrong password" if opened is None else "signed in"
            except web_sessions.SignInThrottled:
                db.rollback()
                outcome = "throttled"
            except Exception as exc:
                db.rollback()
                outcome = f"{type(exc).__name__}: {exc}"
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=attempt, args=t) for t in tries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads), "a try never ended"
    return outcomes


# (a) The throttle holds under concurrency: a try is counted before its password is checked.


@pytest.mark.concurrency
def test_a_hundred_concurrent_wrong_passwords_for_one_user_check_at_most_five(
    committed_engine: Engine, verifications: Verifications
) -> None:
    cheap_users(committed_engine, "office")
    verifications.delay = ARGON2_SECONDS
    limit = web_sessions.MAX_FAILURES_PER_USER
    tries = [("office", f"10.0.{i // 250}.{i % 250 + 1}") for i in range(TRIES)]
    outcomes = concurrently(committed_engine, tries, "not the password")
    assert verifications.count <= limit, f"{verifications.count} of {TRIES} tries were checked"
    assert outcomes == {"wrong password": limit, "throttled": TRIES - limit}
    assert rows(committed_engine, SignInFailure) == limit


@pytest.mark.concurrency
def test_a_hundred_concurrent_guesses_from_one_address_check_at_most_twenty(
    committed_engine: Engine, verifications: Verifications
) -> None:
    names = [f"user-{i}" for i in range(TRIES)]
    cheap_users(committed_engine, *names)  # a different user name for every try
    verifications.delay = ARGON2_SECONDS
    limit = web_sessions.MAX_FAILURES_PER_ADDRESS
    outcomes = concurrently(committed_engine, [(n, "192.0.2.7") for n in names], "a guess")
    assert verifications.count <= limit, f"{verifications.count} of {TRIES} tries were checked"
    assert outcomes == {"wrong password": limit, "throttled": TRIES - limit}
    assert rows(committed_engine, SignInFailure) == limit


# (b) A wrong password costs one argon2 verify whoever the name is.


def _wrong(engine: Engine, username: str) -> None:
    with Session(engine) as db, pytest.raises(Unauthorized):
        auth.verify_password(db, username=username, password="not the password")


def test_an_unknown_disabled_or_passwordless_user_costs_one_argon2_verify(
    world: World, committed_engine: Engine, verifications: Verifications
) -> None:
    cheap_users(committed_engine, "office", "gone")
    with session_scope(committed_engine) as s:
        users.disable(s, username="gone", actor=ACTOR)
    # "admin" of the world has no password (an API-only user).
    for name in ("office", "nobody", "gone", "admin"):
        before = verifications.count
        _wrong(committed_engine, name)
        assert verifications.count - before == 1, f"{name}: {verifications.count - before}"
    with Session(committed_engine) as db:  # the right password of a disabled user opens nothing
        with pytest.raises(Unauthorized):
            auth.verify_password(db, username="gone", password=PASSWORD)
        assert auth.verify_password(db, username="office", password=PASSWORD).username == "office"


def _median_seconds(engine: Engine, names: list[str], rounds: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        for name in names:  # interleaved: a slow moment of the machine hits both
            started = time.perf_counter()
            _wrong(engine, name)
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(found) for name, found in times.items()}


def test_a_wrong_password_takes_as_long_for_an_unknown_user_as_for_a_known_one(
    committed_engine: Engine,
) -> None:
    make_user(committed_engine, "office", Role.ADMIN)  # argon2's real parameters
    _median_seconds(committed_engine, ["office", "nobody"], 1)  # warm up (the dummy hash)
    ratios = []
    for _ in range(3):  # a noisy machine gets another measurement; a leak fails all three
        medians = _median_seconds(committed_engine, ["office", "nobody"], 7)
        ratios.append(medians["nobody"] / medians["office"])
        print(f"wrong password, median: known {medians['office']:.3f} s, "
              f"unknown {medians['nobody']:.3f} s, ratio {ratios[-1]:.2f}")  # fmt: skip
        if 0.5 <= ratios[-1] <= 2.0:
            return
    pytest.fail(f"an unknown user's wrong password takes {ratios} times a known user's")


# (c) A sign-in or a new password ends the web sessions it should.


def _opens_pages(app: FastAPI, secret: str, url: str) -> bool:
    """Tell whether a browser with only this session cookie is shown the page."""
    browser = TestClient(app)
    browser.cookies.set(web_sessions.COOKIE, secret)
    answer: httpx.Response = browser.get(url, follow_redirects=False)
    assert answer.status_code in (200, 303), answer.text[:200]
    return answer.status_code == 200


def test_signing_in_as_another_user_ends_the_browsers_previous_session(
    app: FastAPI, client: TestClient, world: World, committed_engine: Engine
) -> None:
    cheap_users(committed_engine, "office", "boss")
    url = f"/branches/{world.branch_a}/day"
    assert sign_in(client, "office") == 303
    previous = client.cookies[web_sessions.COOKIE]
    assert _opens_pages(app, previous, url)
    # The same browser signs in as someone else; its form carries the live session's token.
    answer = client.post(
        "/sign-in",
        data={"csrf_token": web_sessions.csrf_token(previous), "username": "boss",
              "password": PASSWORD, "next": "/"},
        follow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 303
    current = client.cookies[web_sessions.COOKIE]
    assert current != previous
    assert not _opens_pages(app, previous, url), "the previous session still opens pages"
    assert _opens_pages(app, current, url)
    with session_scope(committed_engine) as s:
        ended = s.scalar(
            select(WebSession.ended_at).where(WebSession.token_hash == auth.hash_secret(previous))
        )
    assert ended is not None


def test_a_new_password_ends_every_web_session_of_its_user_only(
    app: FastAPI, client: TestClient, world: World, committed_engine: Engine
) -> None:
    cheap_users(committed_engine, "office", "boss")
    url = f"/branches/{world.branch_a}/day"
    cookies: dict[str, list[str]] = {"office": [], "boss": []}
    for name in ("office", "office", "boss"):  # two browsers of office's, one of boss's
        client.cookies.clear()
        assert sign_in(client, name) == 303
        cookies[name].append(client.cookies[web_sessions.COOKIE])
    with session_scope(committed_engine) as s:
        auth.set_password(s, username="office", password="a new password 42", actor=ACTOR)
    assert [_opens_pages(app, secret, url) for secret in cookies["office"]] == [False, False]
    assert _opens_pages(app, cookies["boss"][0], url), "another user's session ended too"
    client.cookies.clear()
    assert sign_in(client, "office", "a new password 42") == 303


# (d) The throttle through the page: the tries of refused (rolled back) answers still count.


def test_after_five_wrong_passwords_the_right_one_is_refused_with_429(
    client: TestClient, world: World, committed_engine: Engine, verifications: Verifications
) -> None:
    cheap_users(committed_engine, "office")
    limit = web_sessions.MAX_FAILURES_PER_USER
    for _ in range(limit):
        assert sign_in(client, "office", "wrong password!") == 401
    # The 401 answers rolled their requests back; the tries were counted on their own.
    assert rows(committed_engine, SignInFailure) == limit
    assert sign_in(client, "office") == 429
    assert verifications.count == limit, "the sixth try checked the password"
    assert rows(committed_engine, WebSession) == 0


def test_a_burst_of_sign_ins_with_stale_cookies_does_not_take_the_pool(
    committed_engine: Engine,
) -> None:
    """Each sign-in uses the request's one connection: with a pool of 2 connections, 6
    concurrent sign-ins carrying a session-shaped cookie are all answered, none 503."""
    from komawari.web.app import create_app
    from tests.factories.world import free_port

    make_user(committed_engine, "burst", Role.ADMIN)
    small = create_engine(committed_engine.url, pool_size=2, max_overflow=0, pool_timeout=3)
    app = create_app(small, periodic=False)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base) as browser:
            form = browser.get("/sign-in")
            token = form.cookies.get("komawari_csrf") or browser.cookies["komawari_csrf"]
        answers: list[int] = []

        def one() -> None:
            cookies = {"komawari_csrf": token, "komawari_session": "kws_" + "x" * 40}
            with httpx.Client(base_url=base, cookies=cookies, timeout=20) as c:
                answer = c.post(
                    "/sign-in",
                    data={"csrf_token": token, "username": "burst", "password": "wrong pw!"},
                )
                answers.append(answer.status_code)

        threads = [threading.Thread(target=one) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.should_exit = True
        thread.join(10)
        small.dispose()
    assert sorted(answers) == [401] * 5 + [429], answers


def test_a_hundred_concurrent_tries_over_http_are_all_answered_at_once(
    live_server: str, committed_engine: Engine
) -> None:
    """A throttled try releases its locks in the thread that took them: held until the
    route's rollback, they made the other tries wait for threads they held themselves."""
    make_user(committed_engine, "target", Role.ADMIN)
    with httpx.Client(base_url=live_server) as browser:
        form = browser.get("/sign-in")
        token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        cookies = dict(browser.cookies)
    answers: list[int] = []
    barrier = threading.Barrier(100)

    def one() -> None:
        barrier.wait()
        with httpx.Client(base_url=live_server, cookies=cookies, timeout=120) as c:
            answer = c.post(
                "/sign-in", data={"csrf_token": token, "username": "target", "password": "no!"}
            )
            answers.append(answer.status_code)

    started = time.monotonic()
    threads = [threading.Thread(target=one) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(answers) == {401: 5, 429: 95}
    assert time.monotonic() - started < 29  # a starved pool answers 503 after its 30 s
