"""`komawari serve`: the HTTP server."""

from __future__ import annotations

import errno
import socket

import typer
from rich.console import Console

from komawari.cli_support import EXIT_USAGE, friendly

out = Console()


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
) -> None:
    """Run the HTTP server (API, pages, periodic generation)."""
    import uvicorn

    from komawari.app import create_app
    from komawari.db import ready_engine

    if not _port_free(host, port):
        out.print(
            f"[bold red]error:[/] --port: {host}:{port} is in use; choose another with --port",
            highlight=False,
        )
        raise typer.Exit(EXIT_USAGE)
    engine = ready_engine()
    if demo:
        from komawari.cli_demo import demo as make_demo

        make_demo()
    out.print(f"Komawari on http://{host}:{port}/  (API docs: http://{host}:{port}/docs)")
    uvicorn.run(create_app(engine), host=host, port=port, log_level="info")
