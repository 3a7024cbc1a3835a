"""The soak's end-of-run checks: the database against the promises and the ledger.

`run_checks(url, ledger)` opens its own connection (psycopg, one REPEATABLE READ snapshot,
rolled back) and reads the database with SQL of its own (`soak.checks_sql`), never through
the application's services, keys or rules. It answers a `CheckReport`:

- **Promises 1-3** (`duplicates`, `promise_violations["1".."3"]`): excess rows beyond the
  first of each group sharing the lesson key (live private sessions), the occurrence key
  (any status) or the series key (ACTIVE). Group sessions have no lesson-key guard in the
  schema; live group twins (date, start, end, teacher, title) are counted in `group_twins`
  for information only (the application books them, CONFLICTED by the shared teacher).
- **Promise 4** (`"4"`): after concurrent generation 1-3 hold, and every ACTIVE series has
  a row (any status) for each date it meets from today (in its branch's zone) through its
  watermark `generated_through` (and last date), unless the branch is closed that day or a
  run recorded that it skipped the date because the same lesson existed. Dates before
  today are not checked: a run never backfills the past, and resume restarts from its day.
- **Promise 5** (`"5"`): recomputed from scratch in instants. For every live session, the
  earlier-booked (created_at, then id) live sessions that overlap it (half-open) and share
  its teacher, its room or a student (private student or attendee) are its blockers. A
  session fails when it is CONFIRMED with a blocker, CONFLICTED without one, names one
  that is not a blocker, or leaves one out.
- **Lost writes** (`lost_writes`, `lost`): see `soak.writes`. Every acknowledged write
  that a restore may not have undone (`Ledger.rolled_back_by_design`) is in the database.
  Operations outside the vocabulary of `writes.ACTIONS` are counted in `unjudged_writes`
  (and fail nothing).
- **Idempotency** (`idempotency_mismatches`): each replay's status and body equal the first.
- **Audit** (`audit_unaccounted`): every acknowledged write has its own event; every series
  row has the event that created it; every one-off session its 'session.create'; every
  session made from a series a generation run that was running when it was inserted;
  every cancelled session an event naming it; every session moved from where its series
  put it a 'session.move'.
- **Promise 8, credits** (`credit_double_issues`, `credit_double_uses`): the make-up (振替)
  credit ledger read with SQL of its own. Double issues: excess credits of one (student,
  absent lesson), excess `issue` entries of one credit, and a credit answered as issued to
  more than one acknowledged request (with different keys). Double uses: credits whose
  entries, walked in id order, ever have more than one live use (uses minus releases), a
  use after an `expire` or `revoke`, a running balance below 0 or above 1, a release of a
  use not made or released already, or that more than one live lesson was booked with.
  What the answers of acknowledged marks, make-up bookings and cancels said of the ledger
  is checked with the lost writes (`soak.writes`).
- **Doctor** (`doctor_clean`): `komawari doctor --json` against `url` exits 0, healthy.
- **Errors** (`http_5xx_outside_restart`, `errors_not_retried`): from the ledger alone.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from komawari_soak import checks_sql as q
from komawari_soak import writes
from komawari_soak.ledger import Ack, Ledger

SAMPLES = 20  # the findings listed of each kind (all are counted)
DOCTOR_TIMEOUT = 600


@dataclass(frozen=True)
class CheckReport:
    """What the checks found; `passed` when nothing."""

    acknowledged_writes: int
    rolled_back_by_design: int
    lost_writes: int
    lost: list[str]
    unjudged_writes: int
    duplicates: int
    promise_violations: dict[str, int]
    violations: dict[str, list[str]]
    group_twins: int
    idempotency_replays: int
    idempotency_mismatches: int
    idempotency_samples: list[str]
    audit_unaccounted: int
    audit_samples: list[str]
    doctor_clean: bool
    doctor_problems: list[str]
    http_5xx_outside_restart: int
    errors_not_retried: int
    credit_double_issues: int = 0
    credit_double_uses: int = 0
    credit_samples: list[str] = field(default_factory=list)
    credit_figures: dict[str, int] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Return whether every check held."""
        return (
            self.lost_writes == 0
            and self.duplicates == 0
            and not any(self.promise_violations.values())
            and self.idempotency_mismatches == 0
            and self.audit_unaccounted == 0
            and self.doctor_clean
            and self.http_5xx_outside_restart == 0
            and self.errors_not_retried == 0
            and self.credit_double_issues == 0
            and self.credit_double_uses == 0
        )

    def as_json(self) -> dict[str, object]:
        """Return the report as plain JSON values (with `passed`)."""
        return {
            "passed": self.passed,
            "acknowledged_writes": self.acknowledged_writes,
            "rolled_back_by_design": self.rolled_back_by_design,
            "lost_writes": self.lost_writes,
            "lost": self.lost,
            "unjudged_writes": self.unjudged_writes,
            "duplicates": self.duplicates,
            "promise_violations": self.promise_violations,
            "violations": self.violations,
            "group_twins": self.group_twins,
            "idempotency_replays": self.idempotency_replays,
            "idempotency_mismatches": self.idempotency_mismatches,
            "idempotency_samples": self.idempotency_samples,
            "audit_unaccounted": self.audit_unaccounted,
            "audit_samples": self.audit_samples,
            "doctor_clean": self.doctor_clean,
            "doctor_problems": self.doctor_problems,
            "http_5xx_outside_restart": self.http_5xx_outside_restart,
            "errors_not_retried": self.errors_not_retried,
            "credit_double_issues": self.credit_double_issues,
            "credit_double_uses": self.credit_double_uses,
            "credit_samples": self.credit_samples,
            "credit_figures": self.credit_figures,
        }


def run_checks(url: str, ledger: Ledger) -> CheckReport:
    """Check the database at `url` against promises 1-5, the ledger and the audit log."""
    acks = [a for a in ledger.acks if not _dry_run(a)]
    kept = [a for a in acks if not ledger.rolled_back_by_design(a)]
    with _connect(url) as conn:
        promises = _promises(conn)
        acked = writes.lost_writes(conn, kept)
        rows_unaccounted = _unaccounted_rows(conn)
        credits = credit_findings(conn, kept)
        conn.rollback()
    mismatches = [
        f"key {r.key} on {r.path}: first {r.first_status} {_short(r.first)},"
        f" replay {r.replay_status} {_short(r.replay)}"
        for r in ledger.replays
        if r.replay_status != r.first_status or r.replay != r.first
    ]
    audit = acked.unaudited + rows_unaccounted
    doctor_clean, doctor_problems = _doctor(url)
    outside = ledger.classify_errors()["outside"]  # the soak's own rule, one place
    return CheckReport(
        acknowledged_writes=len(acks),
        rolled_back_by_design=len(acks) - len(kept),
        lost_writes=len(acked.lost),
        lost=acked.lost[:SAMPLES],
        unjudged_writes=len(acked.unknown),
        duplicates=sum(promises.counts[p] for p in ("1", "2", "3")),
        promise_violations=promises.counts,
        violations={p: s[:SAMPLES] for p, s in promises.samples.items() if s},
        group_twins=promises.group_twins,
        idempotency_replays=len(ledger.replays),
        idempotency_mismatches=len(mismatches),
        idempotency_samples=mismatches[:SAMPLES],
        audit_unaccounted=len(audit),
        audit_samples=audit[:SAMPLES],
        doctor_clean=doctor_clean,
        doctor_problems=doctor_problems,
        http_5xx_outside_restart=len(outside),
        errors_not_retried=sum(1 for e in ledger.errors if not e.retried_ok),
        credit_double_issues=credits.double_issues,
        credit_double_uses=credits.double_uses,
        credit_samples=credits.samples[:SAMPLES],
        credit_figures=credits.figures,
    )


def _connect(url: str) -> psycopg.Connection[dict[str, Any]]:
    conninfo = re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url)
    conn = psycopg.connect(conninfo, row_factory=dict_row, application_name="komawari-soak-checks")
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    return conn


def _dry_run(ack: Ack) -> bool:
    return "dry_run=true" in ack.path.lower()


def _short(value: object, limit: int = 200) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[:limit] + "..."


# Promises 1-5


@dataclass
class _Promises:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys("12345", 0))
    samples: dict[str, list[str]] = field(default_factory=lambda: {p: [] for p in "12345"})
    group_twins: int = 0

    def add(self, promise: str, count: int, sample: str) -> None:
        self.counts[promise] += count
        self.samples[promise].append(sample)


def _promises(conn: psycopg.Connection[dict[str, Any]]) -> _Promises:
    found = _Promises()
    for r in conn.execute(q.LESSON_TWINS):
        found.add(
            "1",
            len(r["ids"]) - 1,
            f"sessions {r['ids']}: one private lesson {r['date']} {_hm(r['start_time'])}-"
            f"{_hm(r['end_time'])} teacher {r['teacher_id']} student {r['student_id']}",
        )
    found.group_twins = sum(len(r["ids"]) - 1 for r in conn.execute(q.GROUP_TWINS))
    for r in conn.execute(q.OCCURRENCE_TWINS):
        found.add(
            "2",
            len(r["ids"]) - 1,
            f"sessions {r['ids']}: occurrence {r['original_date']} of series {r['series_id']}",
        )
    for r in conn.execute(q.SERIES_TWINS):
        found.add(
            "3",
            len(r["ids"]) - 1,
            f"ACTIVE series {r['ids']}: branch {r['branch_id']} teacher {r['teacher_id']}"
            f" {r['kind']} {r['party']} {_hm(r['start_time'])}-{_hm(r['end_time'])}"
            f" weekdays {r['weekdays']}",
        )
    for r in conn.execute(q.MISSING_OCCURRENCES):
        found.add("4", 1, f"series {r['series_id']} has no row for {r['day']}")
    conn.execute(q.HELD)
    conn.execute(q.HELD_INDEX)
    conn.execute(q.HELD_ANALYZE)
    for r in conn.execute(q.CLASHES):
        why = _verdict_fault(r["status"], set(r["named"]), set(r["expected"]))
        if why:
            found.add(
                "5",
                1,
                f"session {r['id']} ({r['date']} {_hm(r['start_time'])}-{_hm(r['end_time'])},"
                f" teacher {r['teacher_id']}) {r['status']} naming {sorted(r['named'])}: {why}",
            )
    return found


def _verdict_fault(status: str, named: set[int], expected: set[int]) -> str:
    """Return what is wrong with a live session's verdict ('' when nothing)."""
    if status == "CONFIRMED" and expected:
        return f"earlier clashing {sorted(expected)} not shown"
    if status == "CONFLICTED" and not expected:
        return "no earlier session clashes with it"
    if named - expected:
        return f"{sorted(named - expected)} do not clash with it or were booked later"
    if expected - named:
        return f"does not name {sorted(expected - named)}"
    return ""


def _hm(t: time) -> str:
    return t.strftime("%H:%M" if t.second == 0 else "%H:%M:%S")


# Promise 8: the make-up (振替) credit ledger


@dataclass(frozen=True)
class CreditFindings:
    """Double issues and double uses of credits, with samples; the ledger's figures."""

    double_issues: int
    double_uses: int
    samples: list[str]
    figures: dict[str, int]


def credit_findings(
    conn: psycopg.Connection[dict[str, Any]], acks: Sequence[Ack] = ()
) -> CreditFindings:
    """Read the credit ledger for double issues and uses (see the module's docstring);
    `acks`: the acknowledged writes whose answers are counted (none: the database alone)."""
    issues: list[str] = []
    count = 0
    for r in conn.execute(q.CREDIT_TWINS):
        count += len(r["ids"]) - 1
        issues.append(
            f"credits {r['ids']}: one absence, student {r['student_id']} at session"
            f" {r['absence_session_id']}"
        )
    for r in conn.execute(q.ISSUE_TWINS):
        count += len(r["ids"]) - 1
        issues.append(f"credit {r['credit_id']}: issue entries {r['ids']}")
    told: dict[int, set[str]] = defaultdict(set)
    for n, ack in enumerate(acks):
        if ack.op.startswith("attendance.") and isinstance(ack.response, dict):
            for cid in ack.response.get("credits_issued") or []:
                told[int(cid)].add(ack.key or f"unkeyed {n}")
    for cid, keys in sorted(told.items()):
        if len(keys) > 1:
            count += len(keys) - 1
            issues.append(f"credit {cid}: answered as issued to {len(keys)} requests")
    uses = [_misuse(r) for r in conn.execute(q.CREDIT_MISUSES)]
    figures = {r["kind"]: int(r["n"]) for r in conn.execute(q.CREDIT_FIGURES)}
    return CreditFindings(count, len(uses), issues + uses, figures)


def _misuse(r: dict[str, Any]) -> str:
    why = []
    if (r["most_live"] or 0) > 1:
        why.append(f"{r['most_live']} live uses at once")
    if r["used_after_end"]:
        why.append(f"used after it expired or was revoked (entries {r['used_after_end']})")
    if r["stray_releases"]:
        why.append(f"releases {r['stray_releases']} of a use not made or released already")
    if r["lowest"] is not None and (r["lowest"] < 0 or r["highest"] > 1):
        why.append(f"balance went from {r['lowest']} to {r['highest']} (now {r['balance']})")
    if r["live_lessons"]:
        why.append(f"live lessons {r['live_lessons']} booked with it")
    return f"credit {r['credit_id']}: " + "; ".join(why)


# Rows the audit log does not account for


def _unaccounted_rows(conn: psycopg.Connection[dict[str, Any]]) -> list[str]:
    series = [r["id"] for r in conn.execute(q.UNACCOUNTED_SERIES)]
    found = [f"series {i} has no event creating it" for i in series]
    found += [
        f"session {r['id']}"
        + (f" of series {r['series_id']}" if r["series_id"] else "")
        + " has no event or generation run making it"
        for r in conn.execute(q.UNACCOUNTED_SESSIONS, {"unaccounted_series": series})
    ]
    found += [
        f"session {r['id']} is cancelled by no event" for r in conn.execute(q.UNACCOUNTED_CANCELS)
    ]
    found += [f"session {r['id']} was moved by no event" for r in conn.execute(q.UNACCOUNTED_MOVES)]
    return found


# The doctor


def _doctor(url: str) -> tuple[bool, list[str]]:
    """Run `komawari doctor --json` against `url`; return (clean, its problems)."""
    script = Path(sys.executable).parent / "komawari"
    command = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from komawari.cli.main import main; main()"]
    )
    env = {**os.environ, "DATABASE_URL": url}
    try:
        done = subprocess.run(
            [*command, "doctor", "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=DOCTOR_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, [f"doctor did not run: {exc}"]
    try:
        payload = json.loads(done.stdout)
    except json.JSONDecodeError:
        return False, [f"doctor exited {done.returncode}: {done.stderr.strip()[-500:]}"]
    problems = [str(p) for p in payload.get("problems", [])]
    healthy = payload.get("healthy") is True
    if done.returncode != 0 and not problems:
        problems = [f"doctor exited {done.returncode}"]
    return healthy and done.returncode == 0, problems
