"""Request dependencies: the one transaction, the caller, and common parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from komawari.auth import idempotency, web_sessions
from komawari.auth import service as auth
from komawari.auth.policy import Principal
from komawari.errors import InvalidInput
from komawari.web import cookies
from komawari.words import say

MAX_ID = 2**63 - 1


def get_db(request: Request) -> Session:
    """Return the request's one transaction, opened and ended by the route (`web/routing.py`).

    The route commits it when the answer is below 400 and rolls it back otherwise, before
    the answer is sent: a client never sees an answer whose changes are not committed yet.
    """
    db = getattr(request.state, "db", None)
    if not isinstance(db, Session):
        raise RuntimeError(f"{request.url.path}: its route does not open a transaction")
    return db


Db = Annotated[Session, Depends(get_db)]

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="An API token from `komawari token create` (or `komawari serve --demo`).",
)


# The API and the pages share every route dependency and the whole policy; they differ in
# how a caller comes in. The API: a bearer token only (a cookie never authenticates it, so
# it needs no CSRF defence). The pages: the web session's cookie only.
API_PREFIXES = ("/api", "/calendar", "/healthz", "/readyz", "/docs")


class SignInRequired(Exception):
    """A page needs a signed-in user; its handler sends the browser to the sign-in form."""


def route_path(request: Request) -> str:
    """Return the request's path within Komawari (without a `--root-path` before it)."""
    path, root = request.url.path, str(request.scope.get("root_path", "")).rstrip("/")
    return path[len(root) :] if root and path.startswith(root + "/") else path


def is_api(request: Request) -> bool:
    """Tell whether a request is for the API (else for a page)."""
    return route_path(request).startswith(API_PREFIXES)


def signed_in(request: Request, db: Db) -> web_sessions.SignedIn | None:
    """Return the page request's live web session (looked up once per request)."""
    if not hasattr(request.state, "signed_in"):
        request.state.signed_in = web_sessions.resolve(
            db, cookies.read(request, web_sessions.COOKIE)
        )
    found: web_sessions.SignedIn | None = request.state.signed_in
    return found


BearerToken = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def current_principal(request: Request, db: Db, credentials: BearerToken) -> Principal:
    """Return the caller: of the bearer token (API, else 401) or the web session (pages)."""
    if is_api(request):
        return auth.authenticate(db, credentials.credentials if credentials else None)
    found = signed_in(request, db)
    if found is None:
        raise SignInRequired
    return web_sessions.principal(db, found)


Caller = Annotated[Principal, Depends(current_principal)]


async def idempotency_claim(
    request: Request,
    db: Db,
    who: Caller,
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=idempotency.MAX_KEY_LENGTH,
            pattern=r"^[!-~]+$",
            description="Retry-safe POST: the same key and body get the first answer again "
            "for 24 hours; another body with the key is 422; still running is 409.",
        ),
    ] = None,
) -> None:
    """Claim the request's Idempotency-Key on its own connection (or raise the stored answer)."""
    if key is None:
        return
    if not await run_in_threadpool(lambda: idempotency.try_lock(db, scope=who.scope, key=key)):
        raise idempotency.in_progress(key)
    body = await request.body()
    request_hash = idempotency.fingerprint(
        request.method, request.url.path, request.url.query, body
    )
    request.state.idempotency_claim = await run_in_threadpool(
        lambda: idempotency.claim(
            db,
            scope=who.scope,
            key=key,
            method=request.method,
            path=request.url.path,
            request_hash=request_hash,
        )
    )


def refuse_idempotency_key(request: Request) -> None:
    """Refuse an Idempotency-Key: the answer holds a secret that must not be stored."""
    if "idempotency-key" in request.headers:
        raise InvalidInput(
            "Idempotency-Key",
            say(
                "idempotency.not-accepted",
                "not accepted here: the answer holds a secret shown once, which is never"
                " stored for a replay; send the request again without the header",
            ),
        )


Id = Annotated[int, Path(gt=0, le=MAX_ID, description="A positive id")]
Limit = Annotated[int, Query(ge=1, le=500, description="Page size")]
Cursor = Annotated[
    str | None, Query(max_length=100, description="The next_cursor of the previous page")
]
OptId = Annotated[int | None, Query(gt=0, le=MAX_ID)]


def id_after(cursor: str | None) -> int:
    """Return the id an id-ordered page continues after (0: the first page)."""
    if cursor is None:
        return 0
    if not (cursor.isascii() and cursor.isdigit()) or int(cursor) > MAX_ID:
        raise InvalidInput(
            "cursor", say("cursor.not-valid", "this is not a cursor from a previous page")
        )
    return int(cursor)


def next_id_cursor(ids: list[int], limit: int) -> str | None:
    """Return the cursor of the next page, or None after the last one."""
    return str(ids[-1]) if len(ids) == limit else None
