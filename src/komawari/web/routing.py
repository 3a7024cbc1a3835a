"""The API's routes: bearer auth, Idempotency-Key on every POST, errors as problem+json;
for every route, API or page, one more run of a transaction PostgreSQL aborted only for its
timing (a deadlock, a serialization failure), and OPTIONS and 405 answers that name the
allowed methods."""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import anyio
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy.orm import Session
from starlette.datastructures import MutableHeaders
from starlette.routing import BaseRoute, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from komawari.auth import idempotency
from komawari.db.engine import transient_state
from komawari.web.deps import current_principal, idempotency_claim, refuse_idempotency_key
from komawari.web.problems import ERROR_RESPONSES, PROBLEM_JSON, problem_of, problem_response

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000
SIGNED_OUT_MAX_BODY_BYTES = 16_384  # a request without a credential: the sign-in form
ATTEMPTS = 3  # a request's transaction runs at most this often
Handler = Callable[[Request], Coroutine[Any, Any, Response]]

# What a request's dependencies left on `request.state`, read again by the next attempt.
_PER_ATTEMPT_STATE = ("db", "signed_in", "idempotency_claim")


class RetryingRoute(APIRoute):
    """The transaction edge of every route, and one more run of it after a transient abort.

    Each attempt opens the request's one database session (`request.state.db`, read by the
    `Db` dependency) and ends it here, after the handler has answered and before the answer
    is sent: an answer below 400 commits, any other answer or an exception rolls back. So
    a page that catches a refusal and shows its form again with a 4xx commits nothing,
    whichever handler produced the answer.

    Two writers can deadlock (40P01) while neither is wrong: counters they both bump, or a
    resource one of them found only after waiting (`sessions/locks.py`). The request's
    transaction has then rolled back whole, its Idempotency-Key claim with it; the route
    runs again from its dependencies on, up to ATTEMPTS times, so the client gets the
    answer instead of a 503.
    """

    def get_route_handler(self) -> Handler:
        """Run `attempt_handler` in its transaction, again after a transient abort."""
        handler = self.attempt_handler()

        async def route_handler(request: Request) -> Response:
            for attempt in range(1, ATTEMPTS + 1):
                db: Session = request.app.state.sessions()
                request.state.db = db
                try:
                    response = await handler(request)
                    await run_in_threadpool(_end, db, commit=response.status_code < 400)
                    return response
                except Exception as exc:
                    await run_in_threadpool(db.rollback)
                    state = transient_state(exc)
                    if state is None or attempt == ATTEMPTS:
                        raise
                    log.warning(
                        "%s %s: %s, running it again (attempt %d of %d)",
                        request.method,
                        request.url.path,
                        state,
                        attempt + 1,
                        ATTEMPTS,
                    )
                    for name in _PER_ATTEMPT_STATE:
                        if hasattr(request.state, name):
                            delattr(request.state, name)
                    await anyio.sleep(0.02 * attempt * random.uniform(1, 3))  # noqa: S311
                finally:
                    await run_in_threadpool(db.close)
            raise AssertionError("unreachable")  # pragma: no cover

        return route_handler

    def attempt_handler(self) -> Handler:
        """Return the handler one attempt runs (dependencies, endpoint, answer)."""
        return super().get_route_handler()


def _end(db: Session, *, commit: bool) -> None:
    """End the request's transaction: commit its success, roll back anything else."""
    if commit:
        db.commit()
    else:
        db.rollback()


class KomawariRoute(RetryingRoute):
    """A route whose POST honours Idempotency-Key and stores its answer with its changes.

    A route that depends on `refuse_idempotency_key` (its answer holds a secret) does not.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        given = kwargs.get("dependencies") or []
        refused = any(d.dependency is refuse_idempotency_key for d in given)
        if "POST" in (kwargs.get("methods") or ()) and not refused:
            kwargs["dependencies"] = [
                *(kwargs.get("dependencies") or []),
                Depends(idempotency_claim),
            ]
        super().__init__(path, endpoint, **kwargs)

    def attempt_handler(self) -> Handler:
        """Wrap the handler: replay stored answers, store new ones."""
        handler = super().attempt_handler()

        async def route_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except idempotency.Replay as replay:
                media = PROBLEM_JSON if replay.status >= 400 else "application/json"
                return Response(
                    replay.body,
                    status_code=replay.status,
                    media_type=media,
                    headers={"Idempotent-Replayed": "true"},
                )
            except Exception as exc:
                claim = _claim_of(request)
                # A 5xx rolls back with its claim, so the client can retry.
                if claim is None or problem_of(exc)["status"] >= 500:
                    raise
                # A client error is an answer too: roll the request back, store the answer
                # on the same connection, then answer it.
                await _store(request, claim, problem_response(exc, request))
                raise
            claim = _claim_of(request)
            if claim is not None and response.status_code < 500:
                await _store(request, claim, response)
            return response

        return route_handler


def _claim_of(request: Request) -> idempotency.Claim | None:
    claim = getattr(request.state, "idempotency_claim", None)
    return claim if isinstance(claim, idempotency.Claim) else None


async def _store(request: Request, claim: idempotency.Claim, response: Response) -> None:
    """Store a claimed request's answer. A success is stored in the request's transaction
    and commits with its changes; a client error (raised, or answered without an
    exception) is a refusal: the request is rolled back, then its answer is stored and
    committed on the same connection."""
    store = idempotency.complete if response.status_code < 400 else idempotency.store_refusal
    await run_in_threadpool(
        store,
        request.state.db,
        claim,
        status=response.status_code,
        body=bytes(response.body).decode(),
    )


class KomawariRouter(APIRouter):
    """An /api router whose every path also answers OPTIONS with the methods it allows."""

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        """Add the route, and an OPTIONS answer for its path the first time it is seen."""
        first = not any(
            isinstance(r, APIRoute) and r.path == self.prefix + path for r in self.routes
        )
        super().add_api_route(path, endpoint, **kwargs)
        if first and "OPTIONS" not in (kwargs.get("methods") or ()):
            from komawari.auth.dependencies import self_caller  # it imports this module's peers

            super().add_api_route(
                path,
                self._allow(self.prefix + path),
                methods=["OPTIONS"],
                status_code=204,
                include_in_schema=False,
                dependencies=[Depends(self_caller)],
            )

    def _allow(self, full_path: str) -> Callable[[], Response]:
        def options() -> Response:
            methods = {
                m for r in self.routes if isinstance(r, APIRoute) and r.path == full_path
                for m in r.methods or ()
            }  # fmt: skip
            return Response(status_code=204, headers={"Allow": ", ".join(sorted(methods))})

        return options


def page_router() -> APIRouter:
    """Return a router for pages (HTML, not in the OpenAPI schema)."""
    return APIRouter(include_in_schema=False, route_class=RetryingRoute)


def api_router(prefix: str, tag: str, *, caller: bool = True) -> APIRouter:
    """Return a router under /api whose every route needs a bearer token.

    `caller=False`: the routes' own policy dependency reads the token (a hot read path
    that authenticates in the statement it reads with, `readable_branch_state`).
    """
    return KomawariRouter(
        prefix=f"/api{prefix}",
        tags=[tag],
        route_class=KomawariRoute,
        dependencies=[Depends(current_principal)] if caller else [],
        responses=ERROR_RESPONSES,
        max_body_size=MAX_BODY_BYTES,
    )


def route_table(routes: Sequence[BaseRoute]) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """Return each route's path pattern and methods, included routers' routes too."""
    table = []
    for route in iter_route_contexts(routes):
        if route.path and route.methods:
            table.append((compile_path(route.path)[0], frozenset(route.methods)))
    return table


class AllowedMethods:
    """OPTIONS on a path that has no OPTIONS route of its own (the pages) answers 204 with
    `Allow`; every 405 carries `Allow` naming all the path's methods, not one route's.

    Routes are only matched for an OPTIONS request or a 405 answer: other requests pay
    nothing.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.table: list[tuple[re.Pattern[str], frozenset[str]]] | None = None

    def allowed(self, scope: Scope) -> set[str]:
        """Return the methods the routes at the scope's path answer (empty: no such path)."""
        if self.table is None:  # the routes are all there once the app serves
            self.table = route_table(scope["app"].routes)
        path, root = scope["path"], scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        return {m for pattern, methods in self.table if pattern.match(path) for m in methods}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer OPTIONS for the pages; name the allowed methods on a 405."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            allowed = self.allowed(scope)
            if allowed and "OPTIONS" not in allowed:
                allow = ", ".join(sorted(allowed | {"OPTIONS"}))
                await Response(status_code=204, headers={"Allow": allow})(scope, receive, send)
                return

        async def send_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                allow = ", ".join(sorted(self.allowed(scope) | {"OPTIONS"}))
                MutableHeaders(scope=message)["Allow"] = allow
            await send(message)

        await self.app(scope, receive, send_allow)
