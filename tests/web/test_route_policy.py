"""Every route but a few public ones reaches `auth/policy.py` through a policy dependency.

The walk covers all of `app.routes`, not only /api: a page or a mount added later without
a policy dependency fails here until it gets one or joins the public list.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from fastapi.staticfiles import StaticFiles
from sqlalchemy import create_engine

from komawari.auth.dependencies import POLICY, ReadableSeries
from komawari.web.app import create_app
from komawari.web.deps import Caller

# Public on purpose: health, the API's own description, and the calendar feeds, whose
# secret key in the URL is the authorisation (auth/feeds.check -> policy.feed_key_matches).
PUBLIC = {
    "/healthz",
    "/readyz",
    "/docs",
    "/docs/oauth2-redirect",
    "/api/openapi.json",
    "/calendar/teachers/{teacher_id}.ics",
    "/calendar/students/{student_id}.ics",
    # The pages' way in and out: signing in needs no caller yet; signing out and the
    # language only touch the browser's own session (CSRF-checked); static files.
    "/sign-in",
    "/sign-out",
    "/language",
    "/static",
    # A one-time set-password link: its secret is the authorisation (auth/accounts.py).
    "/password/{secret}",
}


@pytest.fixture(scope="module")
def app() -> FastAPI:
    # Building the app opens no connection; the URL is never dialled.
    return create_app(create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"), periodic=False)


def _calls(dependant: Dependant) -> Iterator[object]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def unguarded(app: FastAPI) -> list[str]:
    """Return the routes outside PUBLIC whose dependency tree holds no policy dependency."""
    found = []
    # Included routers are resolved lazily; their effective routes carry the dependant
    # that serves the request, include-time dependencies included.
    for route in iter_route_contexts(app.routes):
        if route.path in PUBLIC:
            continue
        dependant = getattr(route, "dependant", None)
        if not isinstance(dependant, Dependant) or not any(c in POLICY for c in _calls(dependant)):
            kind = ",".join(sorted(route.methods or [])) or type(route.original_route).__name__
            found.append(f"{kind} {route.path}")
    return found


def test_every_non_public_route_has_a_policy_dependency(app: FastAPI) -> None:
    assert unguarded(app) == [], "add a policy dependency (auth/dependencies.py) to these"


def test_the_public_list_names_only_routes_that_exist(app: FastAPI) -> None:
    assert {route.path for route in iter_route_contexts(app.routes)} >= PUBLIC


def test_the_walk_tells_authentication_from_authorisation() -> None:
    """A token alone (Caller) is not a policy; a page mount is not exempt either."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/api/open/{series_id}")
    def open_route(series_id: int, who: Caller) -> None:
        """Read anything with any token."""

    @app.get("/api/guarded/{series_id}")
    def guarded_route(series: ReadableSeries) -> None:
        """Read a series the policy lets the caller see."""

    app.mount("/files", StaticFiles(directory=Path(__file__).parent))
    assert unguarded(app) == ["GET /api/open/{series_id}", "Mount /files"]
