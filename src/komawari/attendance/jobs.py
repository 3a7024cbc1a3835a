"""Make-up credits' periodic task: expire the credits whose last day has passed."""

from __future__ import annotations

import logging

import procrastinate

from komawari import queue
from komawari.attendance import expiry

log = logging.getLogger(__name__)


def expire_credits(timestamp: int) -> None:
    """Expire each branch's due credits on the branch's own day."""
    expired = expiry.run(queue.engine())
    if expired:
        log.info("expired %d make-up credits", expired)


def blueprint() -> procrastinate.Blueprint:
    """This domain's tasks (a new blueprint each time: an app namespaces the tasks it adds)."""
    tasks = procrastinate.Blueprint()
    task = tasks.task(name="expire_credits", queue="periodic", queueing_lock="expire-credits")(
        expire_credits
    )
    tasks.periodic(cron="*/15 * * * *", periodic_id="expire-credits")(task)
    return tasks
