"""The notices' periodic tasks: the outbox (drain, then send) and the day's reminders."""

from __future__ import annotations

import time

import procrastinate

from komawari import queue
from komawari.db.engine import session_scope
from komawari.notices import drain, intents, send

# One tick's sending stops after this long; the next tick (maybe on another worker) goes on.
SEND_BUDGET = 50.0


def outbox_once(*, budget: float = SEND_BUDGET) -> send.Sent:
    """Drain the due intents into messages (each batch its own transaction), then send."""
    engine = queue.engine()
    quiet: list[int] = []  # people in their quiet hours: the next batch passes them by
    while True:
        with session_scope(engine) as db:
            made = drain.drain(db, skip=quiet)
        quiet += made.waiting
        if made.messages + made.dropped + len(made.waiting) == 0:
            break
    deadline = time.monotonic() + budget
    return send.send_due(engine, stop=lambda: time.monotonic() > deadline)


def outbox(timestamp: int) -> None:
    """Drain and send the outbox."""
    outbox_once()


def reminders(timestamp: int) -> None:
    """Write tomorrow's reminders where the reminder time has passed; credits expiring."""
    with session_scope(queue.engine()) as db:
        intents.reminders(db)
        intents.credits_expiring(db)


def blueprint() -> procrastinate.Blueprint:
    """This domain's tasks (a new blueprint each time: an app namespaces the tasks it adds)."""
    tasks = procrastinate.Blueprint()
    task = tasks.task(name="outbox", queue="notices", queueing_lock="outbox")(outbox)
    tasks.periodic(cron="* * * * * */10", periodic_id="outbox")(task)
    task = tasks.task(name="reminders", queue="periodic", queueing_lock="reminders")(reminders)
    tasks.periodic(cron="*/5 * * * *", periodic_id="reminders")(task)
    return tasks
