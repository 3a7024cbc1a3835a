"""Links under `--root-path`: behind a reverse proxy that serves Komawari under a prefix.

uvicorn's `--root-path /k` routes `/k/teachers` (as forwarded by the proxy) to
`/teachers`, but the pages and redirects name their targets from the root (`href="/..."`,
`Location: /...`), which the browser would ask of the proxy outside the prefix. This
middleware puts the prefix before every such target of an HTML answer (links, form
actions, sources, htmx requests) and before a `Location` header, when a root path is set;
without one it passes every answer through untouched.
"""

from __future__ import annotations

import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# An attribute naming a target from the root ("/x", never "//host", a network path).
_TARGET = re.compile(rb'(\s(?:href|action|src|hx-(?:get|post|put|patch|delete))=")/(?!/)')


def under(root: str, location: str) -> str:
    """Return `location` (a root-relative target) under `root`; anything else unchanged."""
    if root and location.startswith("/") and not location.startswith("//"):
        return root + location
    return location


class RootPathLinks:
    """Prefix root-relative link targets and redirects with the request's root path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; rewrite its answer's targets under `scope["root_path"]`."""
        root = str(scope.get("root_path") or "").rstrip("/")
        if scope["type"] != "http" or not root:
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "location" in headers:
                    headers["location"] = under(root, headers["location"])
                if not headers.get("content-type", "").startswith("text/html"):
                    await send(message)
                    return
                start = message  # held until the whole body is read
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            prefix = root.encode()
            html = _TARGET.sub(lambda m: m[1] + prefix + b"/", b"".join(body))
            MutableHeaders(scope=start)["content-length"] = str(len(html))
            await send(start)
            await send({"type": "http.response.body", "body": html})

        await self.app(scope, receive, rewrite)
