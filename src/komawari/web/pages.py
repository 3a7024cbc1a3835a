"""What every page shares: the signed-in user, the language, the CSRF token, rendering,
and errors shown as pages (the API keeps problem+json)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session

from komawari.auth import policy, web_sessions
from komawari.auth.enums import Role
from komawari.auth.web_sessions import SignedIn
from komawari.branches import service as branches
from komawari.branches.models import Branch
from komawari.config import get_settings
from komawari.errors import KomawariError
from komawari.scheduling import clock
from komawari.sessions import read_model
from komawari.web import cookies, csrf, forms, i18n, problems, templating
from komawari.web.deps import Caller, Db, SignInRequired, is_api, route_path, signed_in
from komawari.words import Say, say

STATIC = templating.TEMPLATES.parent / "static"
log = logging.getLogger(__name__)
LANG_COOKIE = "komawari_lang"  # a signed-out visitor's choice of language


@dataclass(frozen=True)
class Nav:
    """The header of a staff member's pages: their branches (a switcher when more than
    one), the branch in hand, and how many clashes it has in the next four weeks."""

    branches: list[tuple[int, str]]
    current: tuple[int, str]
    clashes: int
    zone: str | None = None  # the branch's time zone, when it is not the school's own


@dataclass
class Page:
    """One page request: who asks, in which language, and how to answer."""

    request: Request
    user: SignedIn | None
    locale: str
    csrf_token: str
    new_anonymous_token: str | None = None
    db: Session | None = None

    @cached_property
    def nav_branches(self) -> list[Branch]:
        """The branches the header lists (none for a teacher or a visitor): a page's ETag
        names them, so that a branch added or renamed elsewhere redraws the header."""
        if self.user is None or self.db is None or self.user.user.role == Role.TEACHER:
            return []
        who = web_sessions.principal(self.db, self.user)
        return list(branches.list_branches(self.db, ids=policy.visible_branches(who)))

    @cached_property
    def nav(self) -> Nav | None:
        """The header's branches and clash count (staff and admins; read when drawn)."""
        listed = self.nav_branches
        if not listed or self.db is None or self.user is None:
            return None
        named = [(b.id, b.name) for b in listed]
        asked = self.request.path_params.get("branch_id")
        wanted = int(asked) if isinstance(asked, str) and asked.isdigit() else None
        chosen = next((b for b in listed if b.id == wanted), None) or next(
            (b for b in listed if b.id == self.user.user.last_branch_id), listed[0]
        )
        today = clock.branch_today(chosen.time_zone)
        count = read_model.clash_count(
            self.db, branch_ids=[chosen.id], first=today, last=today + timedelta(days=27)
        )
        own = get_settings().default_timezone
        zone = chosen.time_zone if chosen.time_zone != own else None
        return Nav(named, (chosen.id, chosen.name), count, zone)

    def remember_branch(self, branch_id: int) -> None:
        """Note the branch whose page the user sees, where their next sign-in lands."""
        if self.user is not None and self.user.user.last_branch_id != branch_id:
            self.user.user.last_branch_id = branch_id

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        """Render template `name` as this page's answer."""
        html = templating.render(
            self.locale,
            name,
            {"page": self, "user": self.user.user if self.user else None, **context},
        )
        response = HTMLResponse(html, status_code=status)
        response.headers["Cache-Control"] = "private, no-cache"
        if self.new_anonymous_token:
            set_cookie(self.request, response, csrf.ANON_COOKIE, self.new_anonymous_token)
        return response


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    """Set a cookie the pages' way (`web/cookies.py`)."""
    cookies.write(request, response, name, value)


def _page(request: Request, db: Db) -> Page:
    user = signed_in(request, db)
    setting = user.user.locale if user else cookies.read(request, LANG_COOKIE)
    locale = i18n.negotiate(setting, request.headers.get("accept-language"))
    request.state.page_locale = locale  # an error page speaks it too
    token = csrf.expected_token(request) if user else cookies.read(request, csrf.ANON_COOKIE)
    fresh = None
    if not token:
        token = fresh = csrf.new_anonymous_token()
    return Page(request, user, locale, token, new_anonymous_token=fresh, db=db)


def signed_in_page(page: Annotated[Page, Depends(_page)]) -> Page:
    """Return the page of a signed-in user, or send the browser to the sign-in form."""
    if page.user is None:
        raise SignInRequired
    return page


AnyPage = Annotated[Page, Depends(_page)]
UserPage = Annotated[Page, Depends(signed_in_page)]


PageCaller = Caller  # the same caller, resolved from the web session on a page
CsrfChecked = Depends(csrf.require)


def _error_page(request: Request, exc: Exception) -> HTMLResponse:
    problem = problems.problem_of(exc)
    if problem["status"] >= 500:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    locale = getattr(request.state, "page_locale", None) or _visitor_locale(request)
    context = {
        "page": None,
        "user": None,
        "status": problem["status"],
        "message": _page_words(exc, problem),
    }
    html = templating.render(locale, "error.html", context)
    return HTMLResponse(html, status_code=problem["status"])


def _visitor_locale(request: Request) -> str:
    """The language of an error page that came before the page's own: the signed-in
    user's setting (read on a connection of its own: the request's has rolled back),
    else the visitor's choice or browser."""
    setting = cookies.read(request, LANG_COOKIE)
    secret = cookies.read(request, csrf.SESSION_COOKIE)
    if secret:
        with contextlib.suppress(Exception), request.app.state.sessions() as db:
            found = web_sessions.resolve(db, secret)
            if found is not None:
                setting = found.user.locale or setting
    return i18n.negotiate(setting, request.headers.get("accept-language"))


def _page_words(exc: Exception, problem: dict[str, Any]) -> Say | str:
    """What an error page says to staff: the error's own words, never the API's."""
    if isinstance(exc, KomawariError):
        return exc.words
    if isinstance(exc, RequestValidationError):
        found = forms.pydantic_errors(exc.errors())
        why = next(iter(found.values()), None) or say("value.not-valid", "this is not valid")
        return say(
            "page.bad-address",
            "The address has a value that cannot be read: %(why)s. Go back and try again.",
            why=why,
        )
    status = problem["status"]
    if status == 404:
        return say(
            "page.not-found", "There is no such page. It may have moved, or the address has a typo."
        )
    if status == 405:
        return say("page.wrong-method", "This page cannot be used that way. Go back and try again.")
    if status == 413:
        return say("page.too-large", "What was sent is too large.")
    if status >= 500:
        return say(
            "page.internal", "Something went wrong on our side; it was logged. Please try again."
        )
    return str(problem["detail"])


Handler = Callable[[Request, Any], Awaitable[Response]]


def _either(api_handler: Handler) -> Handler:
    async def handler(request: Request, exc: Any) -> Response:
        if is_api(request):
            return await api_handler(request, exc)
        return _error_page(request, exc)

    return handler


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    target = route_path(request) + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/sign-in?next={quote(target, safe='')}", status_code=303)


def install(app: FastAPI) -> None:
    """Serve /static, and show errors of page routes as pages (the API's stay JSON).

    Call after `problems.install`: each of its handlers is wrapped, so both speak of an
    error the same way (status and detail) and only the form differs.
    """
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for cls, handler in list(app.exception_handlers.items()):
        app.add_exception_handler(cls, _either(handler))  # type: ignore[arg-type]
    app.add_exception_handler(SignInRequired, _sign_in_required)
