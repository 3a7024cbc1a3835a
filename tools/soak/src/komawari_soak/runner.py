"""One soak from start to end: set up, load and faults, stop, check, and the figures.

Set-up: the database (`stack.Stack`), migrated, a small school seeded and an admin token
made; then two servers and two generators. The load runs for the given time (and until
every planned fault is done, with a few seconds after the last); then the load stops,
servers and generators get SIGTERM, one last `komawari generate` runs, and the checks
(`soak.checks`) compare the ledger with the database. Whatever happens, everything that
was started is stopped.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from komawari_soak.faults import Faults
from komawari_soak.ledger import Ledger
from komawari_soak.load import Load, School
from komawari_soak.notices import Notices
from komawari_soak.stack import Stack

TAIL_SECONDS = 3.0
MIN_FAULTS = 5

Step = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    minutes: float
    seed: int = 1
    clients: int = 6
    database_url: str | None = None
    keep_logs: Path | None = None


def _quiet(_: str) -> None:
    pass


def run(options: Options, *, step: Step = _quiet) -> dict[str, Any]:
    """Run one soak and return its figures (`passed` among them)."""
    ledger = Ledger()
    step("starting PostgreSQL")
    stack = Stack.create(external_url=options.database_url)
    notices = Notices()
    load: Load | None = None
    failed = True
    try:
        notices.start()
        stack.extra_env.update(notices.env())
        step("migrating and seeding the school")
        token, school = _prepare(stack.database.url, options.seed)
        notices.add_contacts(stack.database.url)
        step("starting 2 servers and 2 generators")
        stack.start_children()
        load = Load(
            servers=[stack.url_of(s) for s in stack.servers],
            token=token,
            school=school,
            ledger=ledger,
            clients=options.clients,
            seed=options.seed,
        )
        faults = Faults(stack, ledger, load, random.Random(options.seed))  # noqa: S311
        seconds = options.minutes * 60
        step(f"load with {options.clients} clients for {seconds:.0f}s, faults on the way")
        started = time.monotonic()
        load.start()
        notices.start_faults()
        fault_failures = _inject(faults, seconds, started, step)
        while time.monotonic() < started + seconds:
            time.sleep(0.2)
        load.stop()
        notices.stop_faults()
        elapsed = time.monotonic() - started
        step("stopping servers and generators (SIGTERM)")
        exits = stack.stop_children()
        step("final generation")
        final = stack.run("generate", "--json")
        step("sending what the outbox still holds")
        settled = notices.settle(stack.run)
        step("checking the database against the ledger")
        checked = _checks(stack.database.url, ledger)
        report = _report(options, ledger, load, faults, checked, elapsed, exits, final)
        told = notices.figures(stack.database.url, ledger)
        report |= told | {"notice_settle": settled}
        report["passed"] = report["passed"] and _notices_held(told)
        report["fault_failures"] = fault_failures
        report["passed"] = report["passed"] and not fault_failures
        failed = not report["passed"]
        if failed and options.keep_logs is not None:
            # The database as the checks saw it, for the post-mortem (`komawari restore`).
            options.keep_logs.mkdir(parents=True, exist_ok=True)
            kept = stack.run("backup", "--json", "--out", str(options.keep_logs / "soak.dump"))
            report["database_kept"] = kept.returncode == 0
        return report
    finally:
        if load is not None:
            load.stop()
        step("stopping everything")
        notices.stop()
        stack.stop(keep_logs=options.keep_logs if failed else None)
        if failed and options.keep_logs is not None:
            ledger.dump(options.keep_logs / "ledger.json")


def _prepare(url: str, seed: int) -> tuple[str, School]:
    """Migrate, seed the demo school, make an admin token; read the school's ids."""
    from komawari.branches.models import Branch
    from komawari.db import migrate
    from komawari.db.engine import make_engine, name_connections, session_scope
    from komawari.ops import demo
    from komawari.people.models import Room, Student, Teacher
    from komawari.scheduling.timerules import today_in
    from komawari.series.enums import SeriesKind
    from komawari.series.models import ClassSeries
    from komawari.web.cli import demo_admin_token

    name_connections("komawari-soak")
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        with session_scope(engine) as s:
            demo.create(s, seed=seed)
        token = demo_admin_token(engine)
        with session_scope(engine) as s:
            branches = s.execute(select(Branch.id, Branch.time_zone).order_by(Branch.id)).all()
            rooms: dict[int, list[int]] = {b: [] for b, _ in branches}
            for room, branch in s.execute(select(Room.id, Room.branch_id).order_by(Room.id)):
                rooms[branch].append(room)
            school = School(
                branches=[b for b, _ in branches],
                teachers=list(s.scalars(select(Teacher.id).order_by(Teacher.id))),
                students=list(s.scalars(select(Student.id).order_by(Student.id))),
                rooms=rooms,
                groups=list(
                    s.scalars(select(ClassSeries.id).where(ClassSeries.kind == SeriesKind.GROUP))
                ),
                today=today_in(branches[0][1]),
            )
    finally:
        engine.dispose()
    return token, school


def _inject(faults: Faults, seconds: float, started: float, step: Step) -> list[str]:
    """Run the planned faults at their times; return those that failed."""
    failures: list[str] = []
    for at, fault in faults.plan(seconds):
        while time.monotonic() < started + at:
            time.sleep(0.05)
        name = getattr(fault, "__name__", "fault")
        step(f"fault: {name}")
        try:
            fault()
        except Exception as exc:
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
    time.sleep(TAIL_SECONDS)  # the load goes on a little after the last fault
    return failures


def _checks(url: str, ledger: Ledger) -> dict[str, Any]:
    """Run the independent end-of-run checks; return their figures."""
    from komawari_soak import checks

    return dict(checks.run_checks(url, ledger).as_json())


# What the checks must find for a soak to pass (their own error figures aside: the soak
# classifies errors by its fault windows, `Ledger.classify_errors`).
MUST_BE_ZERO = (
    "lost_writes",
    "duplicates",
    "idempotency_mismatches",
    "audit_unaccounted",
    "credit_double_issues",
    "credit_double_uses",
)


def _notices_held(told: dict[str, Any]) -> bool:
    """Each message delivered once: none lost, none twice, and there were some."""
    return bool(
        told["notices_expected"] > 0
        and told["notices_delivered"] == told["notices_expected"]
        and told["notice_duplicates"] == 0
        and told["notices_lost"] == 0
    )


def _checks_held(checked: dict[str, Any]) -> bool:
    violations = checked.get("promise_violations") or {}
    return bool(
        all(checked.get(name) == 0 for name in MUST_BE_ZERO)
        and not any(violations.values())
        and checked.get("doctor_clean") is True
    )


def _report(
    options: Options,
    ledger: Ledger,
    load: Load,
    faults: Faults,
    checked: dict[str, Any],
    elapsed: float,
    exits: dict[str, int | None],
    final: Any,
) -> dict[str, Any]:
    kinds = ledger.classify_errors()
    in_windows = kinds["database"] + kinds["server"]
    fault_windows = [w for w in ledger.windows if w.kind != "backup"]
    refusals = faults.notes.get("restore_refused_naming_servers", [])
    try:
        final_run = json.loads(final.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        final_run = {"status": "error", "error": (final.stderr or "").strip()[-500:]}
    report: dict[str, Any] = {
        "minutes": options.minutes,
        "seconds": round(elapsed, 1),
        "clients": options.clients,
        "seed": options.seed,
        "database": "external" if options.database_url else "embedded",
        "requests": ledger.requests,
        "acknowledged_writes": len(ledger.acks),
        "replays": len(ledger.replays),
        "lost_writes": checked.get("lost_writes"),
        "duplicates": checked.get("duplicates"),
        "idempotency_mismatches": checked.get("idempotency_mismatches"),
        "doctor_clean": checked.get("doctor_clean"),
        "promise_violations": checked.get("promise_violations"),
        "audit_unaccounted": checked.get("audit_unaccounted"),
        "credit_double_issues": checked.get("credit_double_issues"),
        "credit_double_uses": checked.get("credit_double_uses"),
        "credit_ledger": checked.get("credit_figures"),
        "rolled_back_by_design": checked.get("rolled_back_by_design"),
        "http_5xx_outside_restart": len(kinds["outside"]),
        "http_5xx_in_fault_windows": sum(1 for e in kinds["database"] if e.status >= 500),
        "lost_connections_in_fault_windows": sum(1 for e in in_windows if e.status == 0),
        "not_retried_ok": sum(1 for e in in_windows if not e.retried_ok),
        "faults_injected": len(fault_windows),
        "faults": [w.kind for w in fault_windows],
        "backups": sum(1 for w in ledger.windows if w.kind == "backup"),
        "restore_refused_naming_servers": bool(refusals) and all(refusals),
        "generator_kills_mid_batch": faults.notes.get("generator_kills_mid_batch", []),
        "final_generation": final_run.get("status"),
        "exit_codes": exits,
        "outcomes": dict(sorted(load.counts.items())),
        "outside_examples": [
            f"{e.method} {e.path} {e.status}" + (f" ({e.error})" if e.error else "")
            for e in kinds["outside"][:10]
        ],
        "load_failures": load.failures[:10],
        "checks": checked,
    }
    report["passed"] = bool(
        _checks_held(checked)
        and report["http_5xx_outside_restart"] == 0
        and report["not_retried_ok"] == 0
        and report["faults_injected"] >= MIN_FAULTS
        and report["restore_refused_naming_servers"]
        and report["final_generation"] == "succeeded"
        and not load.failures
    )
    return report
