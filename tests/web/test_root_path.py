"""Behind a reverse proxy under a prefix (`serve --root-path /k`): pages link under it."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from komawari.auth.enums import Role
from tests.factories.world import World, bearer
from tests.web.pages import PASSWORD, csrf_of, make_user

# Root-relative targets of a page: links, forms, sources, htmx requests.
TARGET = re.compile(r'\s(?:href|action|src|hx-get|hx-post)="(/[^"]*)"')


def test_pages_link_and_redirect_under_the_root_path(
    app: FastAPI, world: World, committed_engine: Engine
) -> None:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    day = f"/branches/{world.branch_a}/day"
    # uvicorn --root-path /k hands the app the path with its prefix, as the proxy asked.
    with TestClient(app, root_path="/k", raise_server_exceptions=False) as client:
        first = client.get("/k" + day, follow_redirects=False)
        assert first.status_code == 303
        assert first.headers["location"] == f"/k/sign-in?next={quote(day, safe='')}"
        form = client.get(first.headers["location"])
        assert 'action="/k/sign-in"' in form.text
        signed = client.post(
            "/k/sign-in",
            data={
                "csrf_token": csrf_of(form.text),
                "username": "office",
                "password": PASSWORD,
                "next": day,
            },
            follow_redirects=False,
        )
        assert (signed.status_code, signed.headers["location"]) == (303, "/k" + day)
        page = client.get("/k" + day)
        assert page.status_code == 200
        targets = TARGET.findall(page.text)
        assert targets, "the day page links somewhere"
        assert all(t.startswith("/k/") for t in targets), targets
        assert int(page.headers["content-length"]) == len(page.content)
        # The API under the prefix is still the API: a bearer token, never the cookie.
        api = client.get(f"/k/api/branches/{world.branch_a}", headers=bearer(world.admin))
        assert api.status_code == 200
        assert client.get(f"/k/api/branches/{world.branch_a}").status_code == 401


def test_without_a_root_path_pages_are_untouched(client: TestClient, world: World) -> None:
    form = client.get("/sign-in")
    assert 'action="/sign-in"' in form.text
    assert client.get(f"/api/branches/{world.branch_a}").status_code == 401
