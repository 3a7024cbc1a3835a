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
- **Lost writes**: every `Ack` the restore may not have undone (`rolled_back_by_design`) is
  looked for. Facts no later operation can undo are checked directly: a created series or
  one-off exists with what the answer said (a change-from's new series too), a cancelled
  session is cancelled with its reason. An operation that a later one may undo (pause,
  resume, end, extend, change-from's old series, enrol, unenrol, move, closure add or
  remove) is found through the audit event its own transaction wrote (same action and
  subject, its `at` within the request's span): an absent event means the write is not in
  the database. When that event is the last change of its object (audit ids follow commit
  order per object, as every writer of one object holds its lock), the object's state must
  be what the answer said; acknowledged or not, any later change has a later event. A
  request with an Idempotency-Key may be answered from an earlier attempt (a retry after a
  dropped connection): its event may then predate it. Creations and cancels happen once
  to an object, so their event is looked for whenever it was written.
- **Idempotency** (`idempotency_mismatches`): each replay's status and body equal the first.
- **Audit** (`audit_unaccounted`): every acknowledged write has its own event; every series
  row has the event that created it; every one-off session its 'session.create'; every
  session made from a series a generation run that was running when it was inserted;
  every cancelled session an event naming it; every session moved from where its series
  put it a 'session.move'.
- **Doctor** (`doctor_clean`): `komawari doctor --json` against `url` exits 0, healthy.
- **Errors** (`http_5xx_outside_restart`, `errors_not_retried`): from the ledger alone.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from komawari.soak import checks_sql as q
from komawari.soak.ledger import Ack, Ledger

# How far apart the clients' clock (time.time()) and the database's now() may be.
CLOCK_TOLERANCE = 2.0
SAMPLES = 20
DOCTOR_TIMEOUT = 600

# The audit action each acknowledged operation's transaction records.
ACTIONS = {
    "series.create": "series.create",
    "series.extend": "series.extend",
    "series.pause": "series.pause",
    "series.resume": "series.resume",
    "series.end": "series.end",
    "series.change_from": "series.change_from",
    "series.enrol": "series.enrol",
    "series.unenrol": "series.unenrol",
    "session.create": "session.create",
    "session.cancel": "session.cancel",
    "session.move": "session.move",
    "closure.create": "branch.closure.add",
    "closure.delete": "branch.closure.remove",
}
# The events that change a series' status or last date (dedupe pauses a duplicate).
SERIES_STATE = (
    "series.pause",
    "series.resume",
    "series.end",
    "series.extend",
    "series.change_from",
    "series.pause_duplicate",
)
ENROLMENT_STATE = ("series.enrol", "series.unenrol")
CLOSURE_STATE = ("branch.closure.add", "branch.closure.remove")
EVENT_ACTIONS = sorted({*ACTIONS.values(), *SERIES_STATE})
CLOSED_REASON = "branch_closed"  # a closure's cancellations, reinstated when it goes

_SERIES_PATH = re.compile(r"/class-series/(\d+)")
_SESSION_PATH = re.compile(r"/class-sessions/(\d+)")
_CLOSURE_PATH = re.compile(r"/branches/(\d+)/closures(?:/(\d{4}-\d{2}-\d{2}))?")
_BLUEPRINT = (
    "branch_id",
    "teacher_id",
    "kind",
    "student_id",
    "title",
    "room_id",
    "start_time",
    "end_time",
    "first_date",
    "interval_weeks",
)


@dataclass(frozen=True)
class CheckReport:
    """What the checks found; `passed` when nothing."""

    acknowledged_writes: int
    rolled_back_by_design: int
    lost_writes: int
    lost: list[str]
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
        )

    def as_json(self) -> dict[str, object]:
        """Return the report as plain JSON values (with `passed`)."""
        return {
            "passed": self.passed,
            "acknowledged_writes": self.acknowledged_writes,
            "rolled_back_by_design": self.rolled_back_by_design,
            "lost_writes": self.lost_writes,
            "lost": self.lost,
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
        }


def run_checks(url: str, ledger: Ledger) -> CheckReport:
    """Check the database at `url` against promises 1-5, the ledger and the audit log."""
    acks = [a for a in ledger.acks if not _dry_run(a)]
    kept = [a for a in acks if not ledger.rolled_back_by_design(a)]
    with _connect(url) as conn:
        promises = _promises(conn)
        lost, unaudited = _lost_writes(conn, kept)
        rows_unaccounted = _unaccounted_rows(conn)
        conn.rollback()
    mismatches = [
        f"key {r.key} on {r.path}: first {r.first_status} {_short(r.first)},"
        f" replay {r.replay_status} {_short(r.replay)}"
        for r in ledger.replays
        if r.replay_status != r.first_status or r.replay != r.first
    ]
    audit = unaudited + rows_unaccounted
    doctor_clean, doctor_problems = _doctor(url)
    outside = [
        e
        for e in ledger.errors
        if (e.status >= 500 or e.status == 0) and not ledger.in_window(e.at, "pg_restart")
    ]
    return CheckReport(
        acknowledged_writes=len(acks),
        rolled_back_by_design=len(acks) - len(kept),
        lost_writes=len(lost),
        lost=lost[:SAMPLES],
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


# Lost writes and their audit events


@dataclass(frozen=True)
class _Event:
    id: int
    at: float
    action: str
    detail: str | None  # the student of an enrolment event, the day of a closure event


class _World:
    """The rows and audit events the acknowledged writes name, read in a few queries."""

    def __init__(self, conn: psycopg.Connection[dict[str, Any]], acks: Sequence[Ack]) -> None:
        series_ids = {i for a in acks for i in _series_ids(a)}
        session_ids = {i for a in acks if (i := _session_id(a)) is not None}
        self.series = {r["id"]: r for r in conn.execute(q.SERIES_ROWS, {"ids": sorted(series_ids)})}
        self.sessions = {
            r["id"]: r for r in conn.execute(q.SESSION_ROWS, {"ids": sorted(session_ids)})
        }
        self.enrolments: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
        for r in conn.execute(q.ENROLMENTS, {"ids": sorted(series_ids)}):
            self.enrolments[(r["series_id"], r["student_id"])].append(r)
        self.closures = {(r["branch_id"], r["date"]) for r in conn.execute(q.CLOSURES)}
        self.events: dict[tuple[str, int], list[_Event]] = defaultdict(list)
        self.made_by_change: dict[int, int] = {}
        for r in conn.execute(q.EVENTS, {"actions": EVENT_ACTIONS}):
            if r["subject_id"] is None:
                continue
            detail = r["student_id"]
            if r["action"] in CLOSURE_STATE and r["occurrence_date"] is not None:
                detail = r["occurrence_date"].isoformat()
            self.events[(r["subject_type"], r["subject_id"])].append(
                _Event(r["id"], r["at"], r["action"], detail)
            )
            if r["new_series_id"]:
                self.made_by_change[int(r["new_series_id"])] = r["subject_id"]


def _series_ids(ack: Ack) -> list[int]:
    ids = [int(m.group(1))] if (m := _SERIES_PATH.search(ack.path)) else []
    response = ack.response if isinstance(ack.response, dict) else {}
    if ack.op == "series.create" and isinstance(response.get("id"), int):
        ids.append(response["id"])
    made = response.get("series")
    if isinstance(made, dict) and isinstance(made.get("id"), int):
        ids.append(made["id"])
    return ids


def _session_id(ack: Ack) -> int | None:
    if ack.op == "session.create":
        response = ack.response if isinstance(ack.response, dict) else {}
        return response.get("id") if isinstance(response.get("id"), int) else None
    m = _SESSION_PATH.search(ack.path)
    return int(m.group(1)) if m else None


def _lost_writes(
    conn: psycopg.Connection[dict[str, Any]], acks: Sequence[Ack]
) -> tuple[list[str], list[str]]:
    """Return the acknowledged writes not in the database, and those without their event."""
    world = _World(conn, acks)
    lost: list[str] = []
    unaudited: list[str] = []
    for ack in sorted(acks, key=lambda a: a.acked_at):
        found = _judge(world, ack)
        what = f"{ack.op} {ack.method} {ack.path} (acked at {ack.acked_at:.3f})"
        if found.lost:
            lost.append(f"{what}: {found.lost}")
        if not found.audited:
            unaudited.append(f"{what}: no {ACTIONS.get(ack.op, ack.op)} audit event")
    return lost, unaudited


@dataclass(frozen=True)
class _Finding:
    lost: str  # why the write is not in the database ('' when it is)
    audited: bool


def _judge(world: _World, ack: Ack) -> _Finding:
    body = ack.body if isinstance(ack.body, dict) else {}
    response = ack.response if isinstance(ack.response, dict) else {}
    action = ACTIONS.get(ack.op)
    if action is None:
        return _Finding(f"unknown operation {ack.op!r}", True)
    if ack.op == "series.create":
        sid = response.get("id")
        fault = _blueprint_fault(world, sid, response) if isinstance(sid, int) else "no id"
        return _Finding(fault, _has_event(world, ("series", sid), action))
    if ack.op == "session.create":
        return _one_off(world, ack, body, response)
    if ack.op == "session.cancel":
        return _cancelled(world, ack, response)
    if ack.op.startswith("closure."):
        return _closure(world, ack, body)
    if ack.op in ("series.enrol", "series.unenrol"):
        return _enrolment(world, ack, body)
    if ack.op == "session.move":
        return _moved(world, ack, response)
    return _series_state(world, ack, response)


def _has_event(world: _World, subject: tuple[str, Any], action: str) -> bool:
    """Tell whether `subject` has an `action` event (one that happens once to an object)."""
    return any(e.action == action for e in world.events.get(subject, []))


def _mine(ack: Ack, history: Iterable[_Event]) -> list[_Event]:
    """Return the events of `history` that this write's transaction may have written.

    Its transaction started after the request was sent, unless the request carried an
    Idempotency-Key: its answer may then be a replay of an earlier attempt's.
    """
    since = -math.inf if ack.key else ack.sent_at - CLOCK_TOLERANCE
    action = ACTIONS[ack.op]
    return [
        e for e in history if e.action == action and since <= e.at <= ack.acked_at + CLOCK_TOLERANCE
    ]


def _reversible(
    world: _World,
    ack: Ack,
    subject: tuple[str, int],
    actions: Iterable[str],
    detail: str | None,
    state_fault: str,
) -> _Finding:
    """Judge a write that later ones may undo (see the module's docstring)."""
    history = [
        e
        for e in world.events.get(subject, [])
        if e.action in actions and (detail is None or e.detail == detail)
    ]
    mine = _mine(ack, history)
    if not mine:
        # Nothing could have undone it since: its state must show (its event is missing).
        later = [e for e in history if e.at >= ack.sent_at - CLOCK_TOLERANCE]
        if later:
            return _Finding("no audit event of its transaction, and later changes", False)
        return _Finding(state_fault, False)
    last = max(history, key=lambda e: e.id)
    if len(mine) == 1 and mine[0] is last:
        return _Finding(state_fault, True)
    return _Finding("", True)


def _series_state(world: _World, ack: Ack, response: dict[str, Any]) -> _Finding:
    m = _SERIES_PATH.search(ack.path)
    if m is None:
        return _Finding("no series id in the path", True)
    sid = int(m.group(1))
    row = world.series.get(sid)
    if row is None:
        return _Finding(f"series {sid} does not exist", False)
    after: dict[str, Any] = response.get("series") or {}
    fault = ""
    if ack.op == "series.change_from":
        made = after.get("id")
        if fault := _blueprint_fault(world, made, after):  # no later change undoes the new one
            return _Finding(fault, world.made_by_change.get(int(made or 0)) == sid)
        start = _day((ack.body or {}).get("from_date"))
        if start and row["status"] != "ENDED" and row["last_date"] != start - timedelta(days=1):
            fault = f"series {sid} is {row['status']} to {row['last_date']}, not ended at {start}"
    elif after:
        want = (after.get("status"), _day(after.get("last_date")))
        if (row["status"], row["last_date"]) != want:
            fault = (
                f"series {sid} is {row['status']} to {row['last_date']},"
                f" answered {want[0]} to {want[1]}"
            )
    return _reversible(world, ack, ("series", sid), SERIES_STATE, None, fault)


def _blueprint_fault(world: _World, sid: object, answer: dict[str, Any]) -> str:
    """Return how series `sid` differs from what an answer said of it ('' when it does not)."""
    if not isinstance(sid, int):
        return "the answer names no series"
    row = world.series.get(sid)
    if row is None:
        return f"series {sid} does not exist"
    wrong = [
        name for name in _BLUEPRINT if name in answer and _value(row[name]) != _value(answer[name])
    ]
    if "weekdays" in answer and row["weekdays"] != _mask(answer["weekdays"]):
        wrong.append("weekdays")
    return f"series {sid} differs in {', '.join(wrong)}" if wrong else ""


def _one_off(world: _World, ack: Ack, body: dict[str, Any], response: dict[str, Any]) -> _Finding:
    nid = response.get("id")
    audited = _has_event(world, ("session", nid), "session.create")
    row = world.sessions.get(nid) if isinstance(nid, int) else None
    if row is None:
        return _Finding(f"session {nid} does not exist", audited)
    names = ("branch_id", "teacher_id", "kind", "student_id", "title")
    wrong = [n for n in names if n in response and _value(row[n]) != _value(response[n])]
    if row["series_id"] is not None:
        wrong.append("series_id")
    if sorted(set(body.get("student_ids") or [])) != list(row["attendees"]):
        wrong.append("attendees")
    fault = f"session {nid} differs in {', '.join(wrong)}" if wrong else ""
    return _Finding(fault, audited)


def _cancelled(world: _World, ack: Ack, response: dict[str, Any]) -> _Finding:
    nid = _session_id(ack)
    audited = _has_event(world, ("session", nid), "session.cancel")
    row = world.sessions.get(nid) if nid is not None else None
    if row is None:
        return _Finding(f"session {nid} does not exist", audited)
    reason = response.get("cancel_reason", (ack.body or {}).get("reason"))
    if reason == CLOSED_REASON:  # removing a closure reinstates these: the event tells
        return _Finding("" if audited else "no audit event of its transaction", audited)
    if row["status"] != "CANCELLED" or (reason is not None and row["cancel_reason"] != reason):
        return _Finding(
            f"session {nid} is {row['status']} ({row['cancel_reason']!r}), answered cancelled",
            audited,
        )
    return _Finding("", audited)


def _moved(world: _World, ack: Ack, response: dict[str, Any]) -> _Finding:
    nid = _session_id(ack)
    row = world.sessions.get(nid) if nid is not None else None
    if nid is None or row is None:
        return _Finding(f"session {nid} does not exist", False)
    names = ("date", "start_time", "end_time", "room_id")
    wrong = [n for n in names if n in response and _value(row[n]) != _value(response[n])]
    fault = f"session {nid} differs from the answer in {', '.join(wrong)}" if wrong else ""
    return _reversible(world, ack, ("session", nid), ("session.move",), None, fault)


def _closure(world: _World, ack: Ack, body: dict[str, Any]) -> _Finding:
    m = _CLOSURE_PATH.search(ack.path)
    if m is None:
        return _Finding("no branch in the path", True)
    branch = int(m.group(1))
    day = _day(m.group(2) or body.get("date"))
    if day is None:
        return _Finding("no date", True)
    there = (branch, day) in world.closures
    want = ack.op == "closure.create"
    fault = "" if there == want else f"branch {branch} is {'' if there else 'not '}closed on {day}"
    return _reversible(world, ack, ("branch", branch), CLOSURE_STATE, day.isoformat(), fault)


def _enrolment(world: _World, ack: Ack, body: dict[str, Any]) -> _Finding:
    m = _SERIES_PATH.search(ack.path)
    student, start = body.get("student_id"), _day(body.get("from_date"))
    if m is None or not isinstance(student, int) or start is None:
        return _Finding("no series, student or from_date", True)
    sid = int(m.group(1))
    rows = world.enrolments.get((sid, student), [])
    if ack.op == "series.enrol":
        until = _day(body.get("until_date"))
        ok = any(r["from_date"] == start and r["until_date"] == until for r in rows)
        fault = "" if ok else f"student {student} is not enrolled in series {sid} from {start}"
    else:
        ok = not any(r["until_date"] is None or r["until_date"] >= start for r in rows)
        fault = "" if ok else f"student {student} is still enrolled in series {sid} on {start}"
    return _reversible(world, ack, ("series", sid), ENROLMENT_STATE, str(student), fault)


def _day(value: object) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _value(value: object) -> object:
    """Return a database or JSON value in one comparable form."""
    if isinstance(value, time):
        return value.replace(microsecond=0)
    if isinstance(value, str) and re.fullmatch(r"\d{2}:\d{2}(:\d{2})?", value):
        return time.fromisoformat(value)
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return date.fromisoformat(value)
    return value


def _mask(weekdays: object) -> int | None:
    """Return the bitmask (bit 0 = Monday) of ISO weekday numbers."""
    if not isinstance(weekdays, list) or not all(isinstance(d, int) for d in weekdays):
        return None
    return sum(1 << (int(d) - 1) for d in set(weekdays))


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
