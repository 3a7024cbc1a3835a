"""A generator process of the soak: generation runs one after another, as cron would.

`python -m komawari_soak.generator NAME`: its connections are named NAME (so the soak can
see when it holds the generation lock, mid-batch, and kill it there). A run that fails
(the database restarted, a restore ended its connection) is recorded by the job and the
loop goes on; SIGTERM ends it after the run in progress.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time

from komawari.audit.service import Actor
from komawari.generation.enums import RunTrigger

log = logging.getLogger("komawari_soak.generator")
PAUSE_SECONDS = 0.2


def main(name: str) -> int:
    """Run generation until SIGTERM; return the exit code."""
    from komawari.db.engine import make_engine, name_connections, normalise_url
    from komawari.generation import job

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    name_connections(name)
    engine = None
    runs = failed = 0
    while not stopping:
        try:
            engine = engine or make_engine(normalise_url(os.environ["DATABASE_URL"]))
            result = job.run(engine, trigger=RunTrigger.CLI, actor=Actor("generator", name))
            runs += 1
            if result.counts.created:
                log.info("run %s created %s", result.run_id, result.counts.created)
        except Exception as exc:  # the job recorded the run as failed where it could
            failed += 1
            log.warning("run failed: %s", str(exc).splitlines()[0] if str(exc) else exc)
            time.sleep(1.0)
        time.sleep(PAUSE_SECONDS)
    log.info("stopped after %d runs (%d failed)", runs, failed)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "komawari-generator"))
