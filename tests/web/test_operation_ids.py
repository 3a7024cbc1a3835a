"""Every API operation has a short, stable id that a generated client can call by name."""

from __future__ import annotations

import re

import pytest
from fastapi import APIRouter, FastAPI

from komawari.web.operation_ids import OPERATION_IDS, operation_id

CAMEL = re.compile(r"[a-z]+(?:[A-Z][a-z]+)+")


def _operations(app: FastAPI) -> list[tuple[str, str, str]]:
    schema = app.openapi()
    return [
        (method.upper(), path, op["operationId"])
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
    ]


def test_every_operation_has_its_own_short_camel_case_id(app: FastAPI) -> None:
    ops = _operations(app)
    ids = [op_id for _, _, op_id in ops]
    assert len(ops) >= 48
    assert len(set(ids)) == len(ids), sorted(i for i in ids if ids.count(i) > 1)
    for method, path, op_id in ops:
        assert CAMEL.fullmatch(op_id), (method, path, op_id)
        words = {w for w in re.split(r"[/{}_.\-]", path) if w}
        assert "api" not in op_id.lower(), (path, op_id)
        assert not op_id.lower().endswith(("get", "post", "patch", "delete")), op_id
        assert not any(w in op_id for w in words if "_" in w), (path, op_id)
        assert len(op_id) <= 30, op_id


def test_the_ids_integrators_call_by_name_stay_as_published(app: FastAPI) -> None:
    by_route = {(m, p): op_id for m, p, op_id in _operations(app)}
    assert by_route[("POST", "/api/class-sessions/{session_id}/cancel")] == "cancelSession"
    assert by_route[("POST", "/api/class-series")] == "createSeries"
    assert by_route[("POST", "/api/class-sessions")] == "createSession"
    assert by_route[("GET", "/api/branches/{branch_id}/schedule")] == "getSchedule"


def test_no_id_in_the_table_is_left_over(app: FastAPI) -> None:
    used = {op_id for _, _, op_id in _operations(app)}
    assert set(OPERATION_IDS.values()) == used


def test_a_route_without_an_id_is_named_in_the_failure() -> None:
    router = APIRouter()

    @router.get("/api/new-thing")
    def new_thing() -> dict[str, str]:
        return {}

    app = FastAPI(generate_unique_id_function=operation_id)
    app.include_router(router)
    with pytest.raises(KeyError, match=r"new_thing .*operation_ids\.py"):
        app.openapi()
