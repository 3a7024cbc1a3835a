"""Headers every answer carries: what a browser may load, frame and send on.

Pages load only Komawari's own scripts, styles and images (no inline script; inline
`style` attributes place lessons on the grid), are never framed, are not sniffed as
another type, and send the Referer only to Komawari itself.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
# FastAPI's API explorer is a page of its own, built from its CDN's script and an inline
# one: it keeps the other headers and frame-ancestors only.
EXPLORER = ("/docs",)
EXPLORER_CSP = "frame-ancestors 'none'"


class SecurityHeaders:
    """Add HEADERS to every HTTP answer that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to its answer."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        explorer = scope["path"].startswith(EXPLORER)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in HEADERS.items():
                    if key not in headers:
                        headers[key] = value
                if explorer:
                    headers["Content-Security-Policy"] = EXPLORER_CSP
            await send(message)

        await self.app(scope, receive, send_with_headers)
