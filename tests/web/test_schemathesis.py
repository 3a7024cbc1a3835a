"""Property-based: schemathesis drives every operation of the OpenAPI with an admin token.

No answer may be a 5xx, and every answer must match the documented status codes, content
types and schemas (errors as problem+json); generated bad input must be rejected with a
4xx. Examples are bounded (and derandomised) to keep the suite fast and repeatable.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine, create_engine

from komawari.web.app import create_app
from tests.conftest import truncate_all
from tests.factories.world import World, bearer, make_world, series_body

EXAMPLES = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _cases() -> list[tuple[str, GenerationMode]]:
    """Return every operation with each mode (negative only where there is input to spoil)."""
    # Building the app needs no connection; the OpenAPI lists every operation.
    app = create_app(create_engine("postgresql+psycopg://nobody@localhost/none"), periodic=False)
    cases = []
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            label = f"{method.upper()} {path}"
            cases.append((label, GenerationMode.POSITIVE))
            if operation.get("parameters") or operation.get("requestBody"):
                cases.append((label, GenerationMode.NEGATIVE))
    return sorted(cases)


@pytest.fixture(scope="module")
def fuzzed(engine: Engine) -> Iterator[tuple[Any, World]]:
    """Load the app's OpenAPI over a school with a series and its sessions (one per module)."""
    truncate_all(engine)
    world = make_world(engine)
    app = create_app(engine, periodic=False)
    with TestClient(app) as client:
        made = client.post(
            "/api/class-series", json=series_body(world), headers=bearer(world.admin)
        )
        assert made.status_code == 201
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    # Every call sends the admin token itself: a generated (or spoilt) Authorization header
    # would be replaced, and a "negative" case would then be judged on an input never sent.
    schema.config.generation.update(with_security_parameters=False)
    yield schema, world
    truncate_all(engine)


@pytest.mark.parametrize(("operation", "mode"), _cases())
def test_every_operation_answers_within_its_schema(
    fuzzed: tuple[Any, World], operation: str, mode: GenerationMode
) -> None:
    api_schema, world = fuzzed
    method, path = operation.split(" ", 1)
    checks = CHECKS + ([negative_data_rejection] if mode == GenerationMode.NEGATIVE else [])

    @given(case=api_schema[path][method].as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        case.call_and_validate(headers=bearer(world.admin), checks=checks)

    call()
