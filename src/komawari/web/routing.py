"""The API's routes: bearer auth, Idempotency-Key on every POST, errors as problem+json."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute

from komawari.auth import idempotency
from komawari.web.deps import current_principal, idempotency_claim, refuse_idempotency_key
from komawari.web.problems import ERROR_RESPONSES, PROBLEM_JSON, problem_of, problem_response

MAX_BODY_BYTES = 1_000_000
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class KomawariRoute(APIRoute):
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

    def get_route_handler(self) -> Handler:
        """Wrap the handler: replay stored answers, store new ones."""
        handler = super().get_route_handler()

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
                answer = problem_response(exc, request)
                await run_in_threadpool(
                    idempotency.store_refusal,
                    request.state.db,
                    claim,
                    status=answer.status_code,
                    body=bytes(answer.body).decode(),
                )
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
    """Store a success in the request's transaction: it commits with the changes."""
    await run_in_threadpool(
        idempotency.complete,
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
