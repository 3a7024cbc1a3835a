"""CSRF protection for the pages: every unsafe request carries a token that a form on
another site cannot know.

Signed in, the token is an HMAC of the session cookie's secret (nothing stored). Before
sign-in, the sign-in form uses a double-submit cookie: a random value in a SameSite=Lax
cookie that the form repeats. A form sends the token as the `csrf_token` field; htmx
sends it as the `X-CSRF-Token` header. A missing or wrong token is 403 and changes
nothing (the check runs before the route).
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from komawari.auth import web_sessions
from komawari.errors import Forbidden
from komawari.web import cookies
from komawari.web.deps import Db, signed_in
from komawari.words import say

SESSION_COOKIE = web_sessions.COOKIE
ANON_COOKIE = "komawari_csrf"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def expected_token(request: Request) -> str | None:
    """Return the token of the session cookie's forms (None without a session cookie)."""
    secret = cookies.read(request, SESSION_COOKIE)
    return web_sessions.csrf_token(secret) if secret else None


def _accepted(request: Request, *, live_session: bool) -> list[str]:
    # With a live session, only its token: a double-submit cookie planted by anyone who
    # can set a cookie must not pass a signed-in form. Without one, the double-submit
    # value of a form shown signed out is accepted too (a session cookie that has ended
    # meanwhile must not lock its browser out of signing in).
    if live_session:
        return [t for t in (expected_token(request),) if t]
    tokens = [expected_token(request), cookies.read(request, ANON_COOKIE)]
    return [t for t in tokens if t]


def new_anonymous_token() -> str:
    """Return a fresh double-submit value for a signed-out form."""
    return secrets.token_urlsafe(32)


async def require(request: Request, db: Db) -> None:
    """Refuse (403) an unsafe request whose CSRF token is missing or wrong."""
    if request.method not in UNSAFE:
        return
    live = await run_in_threadpool(signed_in, request, db) is not None
    sent = request.headers.get(HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not any(
        hmac.compare_digest(token, sent) for token in _accepted(request, live_session=live)
    ):
        raise Forbidden(
            say(
                "form.token-expired",
                "the form's security token is missing or out of date; reload the page and try"
                " again",
            )
        )
