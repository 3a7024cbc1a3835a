"""Pages: sign in, sign out, and the language of the pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from komawari.auth import web_sessions
from komawari.auth.web_sessions import SignInThrottled
from komawari.errors import InvalidInput
from komawari.web import cookies, csrf, i18n
from komawari.web.deps import Db
from komawari.web.pages import LANG_COOKIE, AnyPage, CsrfChecked, set_cookie
from komawari.web.routing import page_router

router = page_router()


def safe_next(target: str | None) -> str:
    """Return a local path to go to after sign-in (never another site)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


@router.get("/sign-in")
def sign_in_form(
    page: AnyPage, next: Annotated[str | None, Query(max_length=500)] = None
) -> Response:
    """Show the sign-in form (a signed-in user goes straight on)."""
    if page.user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    done = page.request.query_params.get("done")
    return page.render(
        "sign_in.html", next=safe_next(next), error=None, username="", done=done, wait_minutes=0
    )


@router.post("/sign-in", dependencies=[CsrfChecked])
def sign_in(
    request: Request,
    page: AnyPage,
    db: Db,
    username: Annotated[str, Form(max_length=150)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Check the password; open a session and go on, or show the form with the error."""
    address = request.client.host if request.client else "unknown"
    try:
        opened = web_sessions.sign_in(db, username=username, password=password, address=address)
    except InvalidInput as exc:
        return page.render("sign_in.html", 422, next=safe_next(next), error=exc.words,
                           username=username, done=None, wait_minutes=0)  # fmt: skip
    except SignInThrottled as exc:
        # Whole minutes, rounded up: "in 1 minute" while seconds remain, never "in 0".
        response = page.render("sign_in.html", 429, next=safe_next(next), error="throttled",
                               username=username, done=None,
                               wait_minutes=-(-exc.retry_after // 60))  # fmt: skip
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if opened is None:
        return page.render(
            "sign_in.html",
            401,
            next=safe_next(next),
            error="wrong",
            username=username,
            done=None,
            wait_minutes=0,
        )
    _, secret = opened
    # Signing in, as the same user or another, ends the session this browser had.
    web_sessions.sign_out(db, cookies.read(request, csrf.SESSION_COOKIE))
    going_on = RedirectResponse(safe_next(next), status_code=303)
    set_cookie(request, going_on, csrf.SESSION_COOKIE, secret)
    cookies.remove(request, going_on, csrf.ANON_COOKIE)
    return going_on


@router.post("/sign-out", dependencies=[CsrfChecked])
def sign_out(request: Request, db: Db) -> Response:
    """End this browser's session at once."""
    web_sessions.sign_out(db, cookies.read(request, csrf.SESSION_COOKIE))
    response = RedirectResponse("/sign-in", status_code=303)
    cookies.remove(request, response, csrf.SESSION_COOKIE)
    return response


@router.post("/language", dependencies=[CsrfChecked])
def language(
    request: Request,
    page: AnyPage,
    db: Db,
    locale: Annotated[str, Form(max_length=8)],
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Show the pages in another language (kept with the user, or in a cookie)."""
    if locale not in i18n.LOCALES:
        raise InvalidInput("locale", web_sessions.unknown_locale(locale))
    response = RedirectResponse(safe_next(next), status_code=303)
    if page.user is not None:
        web_sessions.set_locale(db, user_id=page.user.user.id, locale=locale)
    else:
        set_cookie(request, response, LANG_COOKIE, locale)
    return response
