"""What an attacker tried on the pages: headers, page dates, CSRF cookies, upload sizes,
cookie names over HTTPS, forwarded headers and names that reorder text."""

from __future__ import annotations

import inspect
import re
import select
import socket
from urllib.parse import urlparse

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from komawari.auth.enums import Role
from komawari.web import cli as web_cli
from komawari.web.headers import HEADERS
from komawari.web.routing import MAX_BODY_BYTES, SIGNED_OUT_MAX_BODY_BYTES
from tests.factories.world import World, bearer, one_off_body, series_body
from tests.web.pages import csrf_of, make_user, sign_in


def _page_paths(app: FastAPI, world: World, series: int, lesson: int) -> list[str]:
    """Return every GET page route of the app, its path parameters filled in."""
    values = {
        "branch_id": world.branch_a,
        "teacher_id": world.teacher_1,
        "student_id": world.student_1,
        "room_id": world.room_a,
        "series_id": series,
        "session_id": lesson,
        "action": "end",
        "user_id": 1,
        "secret": "kpw_not-a-link",
        "contact_id": 1,
    }
    paths = []
    for route in iter_route_contexts(app.routes):
        if not route.methods or "GET" not in route.methods or not route.path:
            continue
        if route.path.startswith(("/api", "/calendar", "/healthz", "/readyz", "/docs")):
            continue
        names = re.findall(r"{(\w+)}", route.path)
        missing = [n for n in names if n not in values]
        assert not missing, f"{route.path}: no value for {missing}; add one to this test"
        paths.append(route.path.format(**{n: values[n] for n in names}))
    return paths


def _admin_pages(client: TestClient, committed_engine: Engine) -> None:
    make_user(committed_engine, "head", Role.ADMIN)
    assert sign_in(client, "head") == 303


def _series_and_lesson(client: TestClient, world: World) -> tuple[int, int]:
    admin = bearer(world.admin)
    series = client.post("/api/class-series", json=series_body(world), headers=admin)
    lesson = client.post("/api/class-sessions", json=one_off_body(world), headers=admin)
    assert series.status_code == lesson.status_code == 201, (series.text, lesson.text)
    return int(series.json()["id"]), int(lesson.json()["id"])


def test_every_page_and_answer_carries_the_security_headers(
    app: FastAPI, client: TestClient, world: World, committed_engine: Engine
) -> None:
    series, lesson = _series_and_lesson(client, world)
    _admin_pages(client, committed_engine)
    paths = _page_paths(app, world, series, lesson)
    assert len(paths) >= 15, paths
    for path in [*paths, "/no-such-page", "/api/branches", "/sign-in"]:
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code < 500, (path, answer.status_code)
        for name, value in HEADERS.items():
            assert answer.headers.get(name) == value, (path, name)
    policy = HEADERS["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy.replace("style-src-attr 'unsafe-inline'", "")
    # No inline script on any page: the policy would block it.
    home = client.get("/").text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", home)
    assert not re.search(r"\son[a-z]+=", home)


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1899-12-31", "2201-01-01"])
def test_a_page_date_outside_the_years_is_a_friendly_422(
    client: TestClient, world: World, committed_engine: Engine, day: str
) -> None:
    series, _ = _series_and_lesson(client, world)
    _admin_pages(client, committed_engine)
    for path in (
        f"/branches/{world.branch_a}/day?date={day}",
        f"/teachers/{world.teacher_1}/week?date={day}",
        f"/students/{world.student_1}/week?date={day}",
        f"/series/{series}?since={day}",
    ):
        answer = client.get(path)
        assert answer.status_code == 422, (path, answer.status_code)
        assert answer.headers["content-type"].startswith("text/html")
        assert "1900" in answer.text, path
        assert "2200" in answer.text, path


def test_the_first_and_last_page_dates_are_shown(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    _admin_pages(client, committed_engine)
    for day in ("1900-01-01", "2200-12-31"):
        for path in (
            f"/branches/{world.branch_a}/day?date={day}",
            f"/teachers/{world.teacher_1}/week?date={day}",
            f"/students/{world.student_1}/week?date={day}",
        ):
            assert client.get(path).status_code == 200, path


def test_a_signed_in_form_refuses_the_signed_out_csrf_cookie(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    make_user(committed_engine, "desk", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "desk") == 303
    mine = csrf_of(client.get("/teachers").text)
    client.cookies.set("komawari_csrf", "planted")
    planted = client.post(
        f"/teachers/{world.teacher_1}/rename",
        data={"csrf_token": "planted", "name": "Mallory"},
        follow_redirects=False,
    )
    assert planted.status_code == 403
    with committed_engine.connect() as conn:
        name = conn.execute(
            text("SELECT name FROM teachers WHERE id = :id"), {"id": world.teacher_1}
        ).scalar()
    assert name == "Sato"
    renamed = client.post(
        f"/teachers/{world.teacher_1}/rename",
        data={"csrf_token": mine, "name": "Sato Ken"},
        follow_redirects=False,
    )
    assert renamed.status_code == 303


def test_the_signed_out_csrf_cookie_still_signs_in(
    client: TestClient, committed_engine: Engine
) -> None:
    make_user(committed_engine, "late", Role.ADMIN)
    assert sign_in(client, "late") == 303
    client.post("/sign-out", data={"csrf_token": csrf_of(client.get("/").text)})
    # The browser still holds an ended session's cookie: the sign-in form must work.
    assert sign_in(client, "late") == 303


def _chunked_post(base: str, path: str, *, cookie: str = "", total: int) -> tuple[int, int]:
    """Stream a chunked multipart body of up to `total` bytes; return (status, bytes sent).

    Sending stops as soon as the server answers (or closes the connection).
    """
    url = urlparse(base)
    chunk = b"x" * 65_536
    sent = 0
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\n"
            "Transfer-Encoding: chunked\r\n"
            f"{'Cookie: ' + cookie + chr(13) + chr(10) if cookie else ''}\r\n"
        )
        sock.sendall(head.encode())
        part = b'--b\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\n'
        sock.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        try:
            while sent < total:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = sock.recv(4096).decode(errors="replace")
    return int(answer.split(" ", 2)[1]), sent


def test_a_chunked_upload_before_sign_in_is_refused_at_the_small_cap(live_server: str) -> None:
    status, sent = _chunked_post(live_server, "/sign-in", total=64 * 2**20)
    assert status == 413
    # Refused once the cap was passed: the rest of the 64 MiB was never read.
    assert sent < SIGNED_OUT_MAX_BODY_BYTES + 4 * 2**20, sent


def test_a_chunked_upload_with_a_session_is_refused_at_the_cap(
    live_server: str, committed_engine: Engine, world: World
) -> None:
    make_user(committed_engine, "desk", Role.STAFF, branch_ids=[world.branch_a])
    with httpx.Client(base_url=live_server) as browser:
        form = browser.get("/sign-in")
        signed = browser.post(
            "/sign-in",
            data={"csrf_token": csrf_of(form.text), "username": "desk",
                  "password": "correct horse battery", "next": "/"},
        )  # fmt: skip
        assert signed.status_code in (200, 303)
        cookie = f"komawari_session={browser.cookies['komawari_session']}"
        # Over the small cap but under the big one: a signed-in form may send it.
        small = "x" * (SIGNED_OUT_MAX_BODY_BYTES + 1000)
        allowed = browser.post("/teachers", data={"csrf_token": "wrong", "name": small})
        assert allowed.status_code == 403  # read whole, then refused for its token
    status, sent = _chunked_post(live_server, "/teachers", cookie=cookie, total=64 * 2**20)
    assert status == 413
    assert MAX_BODY_BYTES < sent < MAX_BODY_BYTES + 8 * 2**20, sent


def test_a_declared_body_over_the_cap_is_refused_before_it_is_read(client: TestClient) -> None:
    answer = client.post(
        "/sign-in",
        content=b"x" * (SIGNED_OUT_MAX_BODY_BYTES + 1),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413
    assert f"{SIGNED_OUT_MAX_BODY_BYTES:,}" in answer.text


def test_over_https_the_cookies_are_host_prefixed_and_secure(
    app: FastAPI, committed_engine: Engine
) -> None:
    make_user(committed_engine, "tls", Role.ADMIN)
    with TestClient(app, base_url="https://testserver") as browser:
        form = browser.get("/sign-in")
        anon = form.headers["set-cookie"]
        assert anon.startswith("__Host-komawari_csrf=")
        assert "Secure" in anon
        assert "Path=/" in anon
        answer = browser.post(
            "/sign-in",
            data={"csrf_token": csrf_of(form.text), "username": "tls",
                  "password": "correct horse battery", "next": "/"},
            follow_redirects=False,
        )  # fmt: skip
        assert answer.status_code == 303
        session = answer.headers.get_list("set-cookie")
        assert any(c.startswith("__Host-komawari_session=") and "Secure" in c for c in session)
        assert "Domain=" not in "".join(session)
        assert browser.get("/", follow_redirects=False).status_code == 200
        # A cookie without the prefix (set by a plain-HTTP page or a subdomain) opens nothing.
        secret = browser.cookies["__Host-komawari_session"]
        browser.cookies.clear()
        browser.cookies.set("komawari_session", secret)
        assert browser.get("/", follow_redirects=False).status_code == 303


def test_forwarded_headers_are_trusted_from_no_address_by_default() -> None:
    option = inspect.signature(web_cli.serve).parameters["forwarded_allow_ips"].default
    assert option.default == ""


@pytest.mark.parametrize("bad", ["Ya\u202emada", "Sato\u2028Ken", "\u2066Ito\u2069", "Abe\u200f"])
def test_names_with_bidi_controls_or_separators_are_refused(
    client: TestClient, world: World, bad: str
) -> None:
    answer = client.post("/api/teachers", json={"name": bad}, headers=bearer(world.admin))
    assert answer.status_code == 422, answer.text
    assert "U+" in answer.json()["detail"]


def test_a_japanese_name_is_accepted(client: TestClient, world: World) -> None:
    answer = client.post("/api/teachers", json={"name": "山田 太郎"}, headers=bearer(world.admin))
    assert answer.status_code == 201, answer.text
