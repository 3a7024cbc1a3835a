"""Errors as problem+json (RFC 9457), one renderer for every path, and their OpenAPI."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import (
    IntegrityError,
    StatementError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from komawari.db import errors as db_errors
from komawari.errors import KomawariError
from komawari.words import said_by_validator

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
INVALID = "/problems/invalid-input"
_LOC_ROOTS = {"body", "query", "path", "header", "cookie"}
RETRY_AFTER_SECONDS = "2"


class FieldError(BaseModel):
    """One bad field: where it is and what is wrong with it."""

    field: str
    message: str
    code: str | None = None
    loc: list[str | int] | None = None


class Problem(BaseModel):
    """An error (RFC 9457); extension members such as existing_series_id may follow."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    code: str
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None


def _field_of(loc: tuple[Any, ...]) -> str:
    # Validators raise errors located at their field, so the location is the field; an
    # error of the whole body (not JSON, not an object) has none beyond its root.
    parts = [str(p) for p in loc]
    if parts and parts[0] in _LOC_ROOTS:
        parts = parts[1:]
    return ".".join(parts) or "body"


def error_code(err: Mapping[str, Any]) -> str:
    """The code of one Pydantic error: its `Say`'s (a validator of ours), else Pydantic's
    own error type as a code (`missing`, `int-parsing`, ...)."""
    said = said_by_validator(err)
    if said is not None:
        return said.code
    return "value." + str(err.get("type", "invalid")).replace("_", "-")


def _validation(exc: RequestValidationError) -> dict[str, Any]:
    errors = []
    for err in exc.errors():
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        loc = tuple(err.get("loc", ()))
        if err.get("type") == "json_invalid":
            loc = ("body",)
        errors.append(
            {
                "field": _field_of(loc),
                "message": message,
                "code": error_code(err),
                "loc": [p if isinstance(p, int) else str(p) for p in loc],
            }
        )
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
    return _problem(INVALID, "Invalid input", 422, detail, code="invalid-input", errors=errors)


def _problem(
    kind: str, title: str, status: int, detail: str, *, code: str, **extra: Any
) -> dict[str, Any]:
    return {"type": kind, "title": title, "status": status, "code": code, "detail": detail,
            **extra}  # fmt: skip


def problem_of(exc: Exception) -> dict[str, Any]:
    """Return the problem body of any exception (500 for the unexpected, without details)."""
    if isinstance(exc, KomawariError):
        return exc.to_problem()
    if isinstance(exc, RequestValidationError):
        return _validation(exc)
    if isinstance(exc, HTTPException) and exc.status_code == 400:
        # FastAPI's "error parsing the body" (not UTF-8, a broken form): bad input too.
        message = str(exc.detail) if isinstance(exc.detail, str) else "cannot be read"
        error = {"field": "body", "message": message, "code": "body.unreadable", "loc": ["body"]}
        return _problem(INVALID, "Invalid input", 422, f"body: {message}",
                        code="invalid-input", errors=[error])  # fmt: skip
    if isinstance(exc, HTTPException):
        phrase = HTTPStatus(exc.status_code).phrase
        detail = exc.detail if isinstance(exc.detail, str) else phrase
        if isinstance(exc, ContentTooLarge):
            return _problem("/problems/too-large", "Content too large", 413, detail,
                            code="too-large")  # fmt: skip
        if exc.status_code == 404 and detail == phrase:
            detail = "no such resource or route; see /docs for the API"
        code = phrase.lower().replace(" ", "-").replace("'", "")
        return _problem("about:blank", phrase, exc.status_code, detail, code=code)
    # The database's own words stay in the log: they can quote other rows' values.
    found = db_errors.meaning(exc)
    if found is not None:
        return found.to_problem()
    detail = "an unexpected error happened; it was logged"
    return _problem("/problems/internal", "Internal error", 500, detail, code="internal")


def problem_response(exc: Exception, request: Request) -> Response:
    """Render any exception as a problem+json response."""
    body = {**problem_of(exc), "instance": request.url.path}
    headers = dict(getattr(exc, "headers", None) or {})
    if body["status"] == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if body["status"] == 503:
        headers.setdefault("Retry-After", RETRY_AFTER_SECONDS)
    if body["status"] >= 500:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse(body, status_code=body["status"], headers=headers, media_type=PROBLEM_JSON)


async def _handle(request: Request, exc: Exception) -> Response:
    return problem_response(exc, request)


class ContentTooLarge(HTTPException):
    """A request body over its limit, found while it streams in."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the body is over the limit of {limit:,} bytes")


class BodyLimit:
    """Cap every request body while it streams in, whatever its content type or framing.

    A body over `limit` bytes is refused with a 413 problem: at once when Content-Length
    says so, else as soon as the bytes received pass the limit (a chunked upload is never
    spooled whole). A request that carries no credential (no bearer token, no session
    cookie: a signed-out visitor, the sign-in form) gets the small `signed_out_limit`.
    """

    def __init__(self, app: ASGIApp, limit: int, signed_out_limit: int) -> None:
        self.app, self.limit, self.signed_out_limit = app, limit, signed_out_limit

    def limit_of(self, scope: Scope) -> int:
        """Return the cap of a request: the small one without a credential."""
        headers = dict(scope["headers"])
        cookies = headers.get(b"cookie", b"")
        if b"authorization" in headers or b"komawari_session=" in cookies:
            return self.limit
        return self.signed_out_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check Content-Length, then count the body's bytes as they arrive."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope)
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > limit:
            body = _problem(
                "/problems/too-large", "Content too large", 413,
                f"the body is {int(declared):,} bytes; the limit is {limit:,}",
                code="too-large", instance=scope["path"],
            )  # fmt: skip
            response = JSONResponse(body, status_code=413, media_type=PROBLEM_JSON)
            await response(scope, receive, send)
            return
        received, started = 0, False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise ContentTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except ContentTooLarge as exc:  # raised where no handler answered it
            if started:
                raise
            body = _problem(
                "/problems/too-large", "Content too large", 413, str(exc.detail),
                code="too-large", instance=scope["path"],
            )  # fmt: skip
            await JSONResponse(body, status_code=413, media_type=PROBLEM_JSON)(scope, receive, send)


def install(app: FastAPI, *, max_body: int, signed_out_max_body: int) -> None:
    """Render every error of `app` as problem+json; cap request bodies (`BodyLimit`)."""
    app.add_middleware(BodyLimit, limit=max_body, signed_out_limit=signed_out_max_body)
    for exc_class in (
        KomawariError,
        RequestValidationError,
        HTTPException,
        IntegrityError,
        StatementError,
        PoolTimeout,
        Exception,
    ):
        app.add_exception_handler(exc_class, _handle)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No token, or a token that is not valid (problem+json)"},
    403: {"description": "Not allowed for this token's role or branches (problem+json)"},
    404: {"description": "No such resource, or not in this token's branches (problem+json)"},
    409: {"description": "Conflicts with existing data, e.g. a duplicate (problem+json)"},
    413: {"description": "The body is larger than 1 MB (problem+json)"},
    422: {"description": "Invalid input; `errors` names each bad field (problem+json)"},
    503: {"description": "Busy or the database is unreachable; retry after Retry-After"},
}


LOCAL_TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$"


def _local_times(node: Any) -> None:
    """Describe times as local HH:MM: JSON Schema's "time" format demands an offset."""
    if isinstance(node, dict):
        if node.get("type") == "string" and node.get("format") == "time":
            del node["format"]
            node["pattern"] = LOCAL_TIME_PATTERN
            node.setdefault("description", "A wall-clock time in the branch's zone, HH:MM")
        for value in node.values():
            _local_times(value)
    elif isinstance(node, list):
        for value in node:
            _local_times(value)


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """Make every error response of an OpenAPI document a problem+json `Problem`."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(
        Problem.model_json_schema(ref_template="#/components/schemas/{model}").pop("$defs", {})
    )
    components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components["Problem"].pop("$defs", None)
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    _local_times(schema)
    ref = {"$ref": "#/components/schemas/Problem"}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for status, response in operation.get("responses", {}).items():
                if str(status).startswith(("4", "5")):
                    response["content"] = {PROBLEM_JSON: {"schema": ref}}
    return schema
