"""Idempotency keys' periodic task: forget the keys past the 24 hours they are kept."""

from __future__ import annotations

import procrastinate

from komawari import queue
from komawari.auth.idempotency import purge_expired


def purge_idempotency_keys(timestamp: int) -> None:
    """Delete the expired idempotency keys."""
    purge_expired(queue.engine())


def blueprint() -> procrastinate.Blueprint:
    """This domain's tasks (a new blueprint each time: an app namespaces the tasks it adds)."""
    tasks = procrastinate.Blueprint()
    task = tasks.task(name="purge_idempotency_keys", queue="periodic", queueing_lock="purge-keys")(
        purge_idempotency_keys
    )
    tasks.periodic(cron="23 * * * *", periodic_id="purge-idempotency-keys")(task)
    return tasks
