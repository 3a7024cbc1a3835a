"""`komawari serve`: the HTTP server."""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import signal
import socket
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from sqlalchemy import Engine

from komawari.cli.support import EXIT_USAGE, friendly

if TYPE_CHECKING:
    from fastapi import FastAPI

out = Console()
DEMO_ADMIN = "demo-admin"
DEMO_USER, DEMO_PASSWORD = "demo", "komawari-demo"


def demo_admin_token(engine: Engine) -> str:
    """Ensure the demo admin user; revoke its older demo tokens and return a fresh one."""
    from komawari.audit.service import Actor
    from komawari.auth import service as auth
    from komawari.auth.enums import Role
    from komawari.db.engine import session_scope

    actor = Actor("system", "demo")
    with session_scope(engine) as s:
        user, _ = auth.ensure_user(s, username=DEMO_ADMIN, role=Role.ADMIN, actor=actor)
        for token, _user in auth.list_tokens(s, username=DEMO_ADMIN):
            if token.name == "demo":
                auth.revoke_token(s, token.id, actor=actor)
        return auth.create_token(s, user=user, name="demo", actor=actor)[1]


def demo_sign_in(engine: Engine) -> None:
    """Ensure the demo school's admin who signs in to the pages, with the demo password."""
    from komawari.audit.service import Actor
    from komawari.auth import service as auth
    from komawari.auth.enums import Role
    from komawari.db.engine import session_scope

    actor = Actor("system", "demo")
    with session_scope(engine) as s:
        user, _ = auth.ensure_user(s, username=DEMO_USER, role=Role.ADMIN, actor=actor)
        if user.password_hash is None or not auth.password_matches(user, DEMO_PASSWORD):
            auth.set_password(s, username=DEMO_USER, password=DEMO_PASSWORD, actor=actor)


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


@friendly
def serve(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port", min=1, max=65535),
    demo: bool = typer.Option(False, "--demo", help="Create the demo school if empty."),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Worker processes (default: one per CPU; --demo: 1)."
    ),
    root_path: str = typer.Option(
        "", "--root-path", help="The path prefix a reverse proxy serves Komawari under."
    ),
    forwarded_allow_ips: str = typer.Option(
        "",
        "--forwarded-allow-ips",
        help="Proxies whose X-Forwarded-For/-Proto are trusted (comma-separated addresses, "
        "or '*'); none by default, so a client's address is its own.",
    ),
) -> None:
    """Run the HTTP server (API, calendar feeds, periodic generation)."""
    import uvicorn

    from komawari.db.engine import name_connections, ready_engine
    from komawari.web.app import create_app

    if not _port_free(host, port):
        out.print(
            f"[bold red]error:[/] --port: {host}:{port} is in use; choose another with --port",
            highlight=False,
        )
        raise typer.Exit(EXIT_USAGE)
    name_connections("komawari-serve")
    engine = ready_engine()
    token = None
    if demo:
        from komawari.ops.demo import demo as make_demo

        make_demo()
        token = demo_admin_token(engine)
        demo_sign_in(engine)
    out.print(f"Komawari on http://{host}:{port}/  (API docs: http://{host}:{port}/docs)")
    if demo:
        out.print(
            f"sign in at http://{host}:{port}/sign-in as {DEMO_USER!r}, password {DEMO_PASSWORD!r}"
        )
    if token is not None:
        out.print(f"demo admin token (user {DEMO_ADMIN!r}; a new one each start):")
        out.print(token, highlight=False, soft_wrap=True)
        out.print(
            f"try: curl -H 'Authorization: Bearer {token}' http://{host}:{port}/api/branches",
            highlight=False,
            soft_wrap=True,
        )
    count = workers or (1 if demo else os.cpu_count() or 1)
    run = functools.partial(
        uvicorn.run,
        host=host,
        port=port,
        log_level="info",
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        root_path=root_path,
        # No proxy named: forwarded headers are ignored (uvicorn would trust 127.0.0.1).
        proxy_headers=bool(forwarded_allow_ips.strip()),
        forwarded_allow_ips=forwarded_allow_ips.strip() or None,
    )
    # uvicorn re-raises SIGTERM once it has shut down; as an exception (not the default
    # action, which ends the process at once) it lets the embedded database stop cleanly.
    signal.signal(signal.SIGTERM, _exit)
    if count == 1:
        run(create_app(engine))
        return
    # Workers reach the database this process resolved (and, when embedded, started and
    # keeps): they hold no handle on it, so it stops when this process does, after
    # uvicorn has stopped and joined every worker.
    os.environ["KOMAWARI_DATABASE_URL"] = engine.url.render_as_string(hide_password=False)
    os.environ[PARENT_ENV] = str(os.getpid())
    out.print(f"{count} worker processes")
    run("komawari.web.cli:worker_app", factory=True, workers=count)


PARENT_ENV = "KOMAWARI_SERVE_PARENT"

# How long an idle keep-alive connection stays open. A client reusing a connection at the
# moment the server closes it loses its request with no answer (a POST is not retried);
# clients and proxies close theirs sooner (httpx and many clients after 5 s, load
# balancers commonly after 60 s), so the server keeps its side open longer than they do.
# uvicorn's own default is 5 s, the same as httpx's: the soak lost a request to that race.
KEEP_ALIVE_SECONDS = 65


def worker_app() -> FastAPI:
    """Build a worker's application; the worker ends when `komawari serve` ends."""
    from komawari.web.app import create_app

    _end_with_parent()
    return create_app()


def _end_with_parent() -> None:
    # A worker whose parent was killed outright (SIGKILL: no chance to stop its workers)
    # would go on serving and holding database connections: Linux sends it SIGTERM then.
    parent = int(os.environ.get(PARENT_ENV, "0"))
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: uvicorn's own supervision only
        return
    if parent and os.getppid() != parent:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _exit(signum: int, frame: object) -> None:
    raise SystemExit(0)
