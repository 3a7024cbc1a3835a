"""What Komawari takes from FastAPI beyond its documented API, checked on every upgrade.

The transaction edge overrides `APIRoute.get_route_handler` (FastAPI's documented way to
customise a route). One internal remains: `fastapi.routing.iter_route_contexts`, which
walks the routes of included routers (since FastAPI 0.165 `app.routes` no longer lists
them); `AllowedMethods` builds its table with it. pyproject.toml pins FastAPI to the
range these tests were run against; an upgrade that breaks the internal fails here.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import fastapi
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from packaging.requirements import Requirement

from komawari.web.routing import RetryingRoute, route_table

ROOT = Path(__file__).resolve().parents[2]


def test_the_route_table_sees_the_routes_of_included_routers(app: FastAPI) -> None:
    contexts = list(iter_route_contexts(app.routes))
    paths = {c.path for c in contexts}
    assert {"/api/branches", "/api/class-sessions/{session_id}/move", "/sign-in"} <= paths
    assert all(c.methods is None or isinstance(c.methods, set | frozenset) for c in contexts)
    table = route_table(app.routes)
    assert any(p.match("/api/branches/1/schedule") for p, _ in table)
    assert any(p.match("/sessions/7/move") and "POST" in m for p, m in table)


def test_every_route_of_ours_runs_through_the_transaction_edge(app: FastAPI) -> None:
    ours = [
        c for c in iter_route_contexts(app.routes)
        if c.path and c.path.startswith(("/api/", "/sessions", "/series", "/branches", "/sign-in"))
        and not c.path.startswith("/api/openapi")
    ]  # fmt: skip
    assert ours
    routes = [getattr(c, "route", c) for c in ours]
    assert all(isinstance(r, RetryingRoute) for r in routes if hasattr(r, "endpoint")), [
        r.path for r in routes if not isinstance(r, RetryingRoute)
    ]


def test_a_method_not_allowed_names_the_allowed_ones(client: TestClient) -> None:
    answer = client.delete("/sign-in")
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "GET, OPTIONS, POST"


def test_fastapi_is_pinned_to_the_range_these_tests_ran_against() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = [Requirement(r) for r in project["project"]["dependencies"]]
    fastapi_pin = next(r for r in pins if r.name == "fastapi")
    assert fastapi_pin.specifier.contains(fastapi.__version__), fastapi.__version__
    # An upper bound: a new minor release is taken on purpose, after these tests pass.
    assert any(s.operator == "<" for s in fastapi_pin.specifier), str(fastapi_pin)
