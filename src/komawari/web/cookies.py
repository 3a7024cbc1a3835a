"""The pages' cookies: HttpOnly, SameSite=Lax, and over HTTPS Secure with the `__Host-`
prefix, so that no other site, subdomain or plain-HTTP page can set or read them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

HOST_PREFIX = "__Host-"


def name(request: Request, base: str) -> str:
    """Return the cookie's name for this request: `__Host-` prefixed over HTTPS."""
    return HOST_PREFIX + base if request.url.scheme == "https" else base


def read(request: Request, base: str) -> str | None:
    """Return the value of cookie `base` as this request's scheme names it."""
    return request.cookies.get(name(request, base))


def write(request: Request, response: Response, base: str, value: str) -> None:
    """Set cookie `base` the pages' way (a `__Host-` cookie needs Secure, Path=/, no Domain)."""
    response.set_cookie(
        name(request, base),
        value,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def remove(request: Request, response: Response, base: str) -> None:
    """Delete cookie `base`."""
    https = request.url.scheme == "https"
    response.delete_cookie(name(request, base), path="/", secure=https, httponly=True)
