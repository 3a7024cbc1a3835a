"""Generation's periodic task: one run per tick, however many workers."""

from __future__ import annotations

import procrastinate

from komawari import queue
from komawari.audit.service import Actor
from komawari.config import get_settings
from komawari.errors import ConfigurationError
from komawari.generation import job
from komawari.generation.enums import RunTrigger


def cron() -> str | None:
    """When generation runs: `KOMAWARI_GENERATION_CRON`, else every interval (0: never)."""
    settings = get_settings()
    if settings.generation_cron:
        return settings.generation_cron
    minutes = settings.generation_interval_minutes
    if minutes == 0:
        return None
    if minutes < 60 and 60 % minutes == 0:
        return f"*/{minutes} * * * *"
    if minutes % 60 == 0 and 24 % (minutes // 60) == 0:
        return f"7 */{minutes // 60} * * *"
    raise ConfigurationError(
        "KOMAWARI_GENERATION_INTERVAL_MINUTES: a divisor of 60, or of 24 hours in hours "
        f"(60, 120, 180 ...), not {minutes}; or set KOMAWARI_GENERATION_CRON"
    )


def generate(timestamp: int) -> None:
    """Run generation over every branch (its own transactions, recorded as a run)."""
    job.run(queue.engine(), trigger=RunTrigger.SCHEDULE, actor=Actor("generator", "schedule"))


def blueprint() -> procrastinate.Blueprint:
    """The generation tasks, the periodic one on the configured schedule."""
    tasks = procrastinate.Blueprint()
    when = cron()
    task = tasks.task(name="generate", queue="periodic", queueing_lock="generate")(generate)
    if when is not None:
        tasks.periodic(cron=when, periodic_id="generate")(task)
    return tasks
