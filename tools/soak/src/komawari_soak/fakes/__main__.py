"""Run the fake LINE and the fake SMTP server until Ctrl-C, logging what they receive.

    python -m komawari_soak.fakes --line-port 8090 --smtp-port 8025 --any-user

The first two lines printed are `LINE <url>` and `SMTP <url>`, for a script to read.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import threading

from komawari_soak.fakes.line import DEFAULT_TOKEN, FakeLine
from komawari_soak.fakes.smtp import FakeSmtp


def main(argv: list[str] | None = None) -> int:
    """Serve both fakes until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m komawari_soak.fakes", description=__doc__)
    parser.add_argument("--line-port", type=int, default=0, help="0: any free port")
    parser.add_argument("--smtp-port", type=int, default=0, help="0: any free port")
    parser.add_argument("--line-token", default=DEFAULT_TOKEN, help="the channel access token")
    parser.add_argument("--user", action="append", default=[], help="a LINE user ID (repeat)")
    parser.add_argument("--any-user", action="store_true", help="accept any U + 32 hex user ID")
    args = parser.parse_args(argv)
    # Set, not inherited: a shell's background job starts with SIGINT ignored, and the soak
    # stops its children with SIGTERM; both end the wait below as Ctrl-C would.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    logging.getLogger("komawari_soak.fakes").setLevel(logging.INFO)
    line = FakeLine(args.line_token, port=args.line_port, accept_any_user=args.any_user)
    line.add_user(*args.user)
    with line, FakeSmtp(port=args.smtp_port) as smtp:
        print(f"LINE {line.url}", flush=True)
        print(f"SMTP {smtp.url}", flush=True)
        print("Ctrl-C to stop", flush=True)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the way to stop
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
