"""The soak's acknowledged writes against the database: what was lost, what is unaudited.

`lost_writes(conn, acks)` reads the rows and audit events the acknowledged writes name
(SQL of `soak.checks_sql`) and looks for each write (the caller leaves out those a restore
may have undone by design).

Facts no later operation can undo are checked directly: a created series or one-off exists
with what the answer said (a change-from's new series too), a cancelled session is
cancelled with its reason. An operation that a later one may undo (pause, resume, end,
extend, change-from's old series, enrol, unenrol, move, closure add or remove) is found
through the audit event its own transaction wrote (same action and subject, its `at`
within the request's span): without that event, the write must at least show in its
object's state when no later change could have undone it. When that event is the last
change of its object (audit ids follow commit order per object, as every writer of one
object holds its lock), the object's state must be what the answer said; acknowledged or
not, any later change has a later event. A request with an Idempotency-Key may be answered
from an earlier attempt (a retry after a dropped connection): its event may then predate
it. Creations and cancels happen once to an object, so their event is looked for whenever
it was written.

Attendance marks are judged like other reversible writes (the mark's row holds the state
answered unless a later `attendance.mark` event of the same lesson and student exists).
What the answers said of the make-up (振替) credit ledger is checked against its entries,
which are never changed: a credit answered as issued exists for that student and lesson
with its `issue` entry, one answered as revoked has its `revoke` entry, one answered as
flagged is flagged; a make-up lesson answered 201 has exactly one `use` entry, of the
credit asked for; an acknowledged cancel has released every use of its lesson.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

import psycopg

from komawari_soak import checks_sql as q
from komawari_soak.ledger import Ack

# How far apart the clients' clock (time.time()) and the database's now() may be.
CLOCK_TOLERANCE = 2.0

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
    "attendance.notice": "attendance.mark",
    "attendance.roll": "attendance.mark",
    "attendance.correct": "attendance.mark",
    "makeup.book": "session.create",
    "makeup.cancel": "session.cancel",
}
CREATES = ("session.create", "makeup.book")
CANCELS = ("session.cancel", "makeup.cancel")
ATTENDANCE = ("attendance.notice", "attendance.roll", "attendance.correct")
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
        marked = {i for a in acks if a.op in ATTENDANCE and (i := _session_id(a)) is not None}
        self.marks = {
            (r["session_id"], r["student_id"]): r["state"]
            for r in conn.execute(q.MARKS, {"ids": sorted(marked)})
        }
        self.credits = {r["id"]: r for r in conn.execute(q.CREDITS)}
        self.entries: dict[int, list[dict[str, Any]]] = defaultdict(list)  # by credit
        self.entries_of_lesson: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for r in conn.execute(q.CREDIT_ENTRIES):
            self.entries[r["credit_id"]].append(r)
            if r["session_id"] is not None:
                self.entries_of_lesson[r["session_id"]].append(r)
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
    if ack.op in CREATES:
        response = ack.response if isinstance(ack.response, dict) else {}
        return response.get("id") if isinstance(response.get("id"), int) else None
    m = _SESSION_PATH.search(ack.path)
    return int(m.group(1)) if m else None


@dataclass(frozen=True)
class Writes:
    """The acknowledged writes not in the database, without their audit event, or unknown."""

    lost: list[str]
    unaudited: list[str]
    unknown: list[str]  # operations outside the vocabulary (ACTIONS): not judged


def lost_writes(conn: psycopg.Connection[dict[str, Any]], acks: Sequence[Ack]) -> Writes:
    """Look for every acknowledged write in the database (see the module's docstring)."""
    world = _World(conn, acks)
    found = Writes([], [], [])
    for ack in sorted(acks, key=lambda a: a.acked_at):
        what = f"{ack.op} {ack.method} {ack.path} (acked at {ack.acked_at:.3f})"
        if ack.op not in ACTIONS:
            found.unknown.append(what)
            continue
        judged = _judge(world, ack)
        if judged.lost:
            found.lost.append(f"{what}: {judged.lost}")
        if not judged.audited:
            found.unaudited.append(f"{what}: no {ACTIONS[ack.op]} audit event")
    return found


@dataclass(frozen=True)
class _Finding:
    lost: str  # why the write is not in the database ('' when it is)
    audited: bool


def _judge(world: _World, ack: Ack) -> _Finding:
    body = ack.body if isinstance(ack.body, dict) else {}
    response = ack.response if isinstance(ack.response, dict) else {}
    action = ACTIONS[ack.op]
    if ack.op == "series.create":
        sid = response.get("id")
        fault = _blueprint_fault(world, sid, response) if isinstance(sid, int) else "no id"
        return _Finding(fault, _has_event(world, ("series", sid), action))
    if ack.op in CREATES:
        made = _one_off(world, ack, body, response)
        if ack.op == "makeup.book":
            return _also(made, _used(world, body, response))
        return made
    if ack.op in CANCELS:
        return _also(_cancelled(world, ack, response), _released(world, _session_id(ack)))
    if ack.op in ATTENDANCE:
        return _marked(world, ack, body, response)
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


def _also(finding: _Finding, fault: str) -> _Finding:
    """Add a credit ledger fault to a write's finding."""
    if not fault:
        return finding
    return _Finding("; ".join(f for f in (finding.lost, fault) if f), finding.audited)


def _marked(world: _World, ack: Ack, body: dict[str, Any], response: dict[str, Any]) -> _Finding:
    """An attendance mark (the soak sends one per request) and what it did to credits."""
    nid = _session_id(ack)
    marks = body.get("marks") or []
    if nid is None or len(marks) != 1 or not isinstance(marks[0].get("student_id"), int):
        return _Finding("not one student's mark of a lesson", True)
    student = int(marks[0]["student_id"])
    answered = next(
        (m.get("state") for m in response.get("marks", []) if m.get("student_id") == student),
        None,
    )
    state = world.marks.get((nid, student))
    fault = (
        ""
        if state is not None and state == answered
        else f"student {student}'s mark at session {nid} is {state}, answered {answered}"
    )
    found = _reversible(world, ack, ("session", nid), (ACTIONS[ack.op],), str(student), fault)
    return _also(found, _credits_answered(world, nid, student, response))


def _credits_answered(world: _World, lesson: int, student: int, response: dict[str, Any]) -> str:
    """Return how the ledger differs from what a mark's answer said it did to credits."""
    faults = []
    for cid in response.get("credits_issued") or []:
        row = world.credits.get(cid)
        if row is None:
            faults.append(f"credit {cid} answered issued does not exist")
        elif (row["student_id"], row["absence_session_id"]) != (student, lesson):
            faults.append(
                f"credit {cid} answered issued is student {row['student_id']}'s for session"
                f" {row['absence_session_id']}"
            )
        elif not _kinds(world, cid, "issue"):
            faults.append(f"credit {cid} answered issued has no issue entry")
    for cid in response.get("credits_revoked") or []:
        if not _kinds(world, cid, "revoke"):
            faults.append(f"credit {cid} answered revoked has no revoke entry")
    for cid in response.get("credits_flagged") or []:
        row = world.credits.get(cid)
        if row is None or row["flagged_at"] is None:
            faults.append(f"credit {cid} answered flagged is not flagged")
    return "; ".join(faults)


def _kinds(world: _World, credit: int, kind: str) -> list[dict[str, Any]]:
    return [e for e in world.entries.get(credit, []) if e["kind"] == kind]


def _used(world: _World, body: dict[str, Any], response: dict[str, Any]) -> str:
    """A make-up lesson answered 201 uses the credit asked for, and only it: its entries,
    in order, are a use, then (a cancel or a closure) a release, then (a restore or a
    reopening) a use again, and so on; never two uses in a row."""
    nid, credit = response.get("id"), body.get("credit_id")
    if not isinstance(nid, int):
        return "the answer names no session"
    mine = sorted(
        (e for e in world.entries_of_lesson.get(nid, []) if e["kind"] in ("use", "release")),
        key=lambda e: e["id"],
    )
    kinds = [e["kind"] for e in mine]
    expected = ["use" if i % 2 == 0 else "release" for i in range(len(kinds))]
    if not kinds or kinds != expected or {e["credit_id"] for e in mine} != {credit}:
        named = [(e["kind"], e["credit_id"]) for e in mine]
        return f"make-up session {nid} booked with credit {credit} has entries {named}"
    return ""


def _released(world: _World, nid: int | None) -> str:
    """A cancelled lesson has released every use of a credit it made."""
    entries = world.entries_of_lesson.get(nid, []) if nid is not None else []
    released = {(e["credit_id"], e["use_no"]) for e in entries if e["kind"] == "release"}
    kept = [
        f"credit {e['credit_id']} use {e['use_no']}"
        for e in entries
        if e["kind"] == "use" and (e["credit_id"], e["use_no"]) not in released
    ]
    return f"cancelled session {nid} did not release {', '.join(kept)}" if kept else ""


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
