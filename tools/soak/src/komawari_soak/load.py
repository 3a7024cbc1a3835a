"""The soak's load: concurrent clients driving a mixed load over the servers, into a ledger.

Every keyed write is retried with its key after a 5xx or a lost connection, until it is
answered or refused with a 4xx; a 2xx becomes an `Ack`. Some keyed requests are sent
twice (one after the other, or at the same time) and both answers kept as a `Replay`;
some series are created again without a key and must get 409.

Attendance and make-up (振替) lessons: absence notices on coming private lessons (some
sent by two or three workers at once, each with its own key: one credit must come of
them), roll marks, corrections of a notice to `present` (the credit is revoked, or
flagged when used), make-up bookings with a credit (some by two workers at once with one
credit, some with a credit already used or revoked: at most one booking may win) and
cancels of make-up lessons (the credit comes back and may be used again).
"""

from __future__ import annotations

import calendar
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx

from komawari_soak.ledger import Ack, Ledger, Replay, ServerError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
IN_PROGRESS = "/problems/idempotency-in-progress"
RETRY_FOR_SECONDS = 180.0
# Operation weights: reads, then writes with the ledger's op names.
MIX: dict[str, int] = {
    "read.schedule": 14,
    "read.sessions": 8,
    "series.create": 14,
    "series.extend": 3,
    "series.pause": 3,
    "series.resume": 3,
    "series.end": 2,
    "series.change_from": 3,
    "series.enrol": 3,
    "series.unenrol": 2,
    "session.create": 6,
    "session.cancel": 5,
    "session.move": 5,
    "closure.create": 1,
    "closure.delete": 1,
    "read.credits": 2,
    "attendance.notice": 4,
    "attendance.roll": 2,
    "attendance.correct": 2,
    "makeup.book": 4,
    "makeup.cancel": 1,
}
# Attendance states of a roll (absent_notified is the notice's).
ROLL_STATES = ("present", "late", "left_early", "absent", "school_cancelled")


@dataclass
class School:
    """The seeded school's ids the clients draw from."""

    branches: list[int]
    teachers: list[int]
    students: list[int]
    rooms: dict[int, list[int]]
    groups: list[int]
    today: date


@dataclass
class Answer:
    status: int  # 0: no answer (connection lost or timed out)
    body: Any
    problem_type: str | None = None


@dataclass(frozen=True)
class Lesson:
    """A coming private lesson an absence may be notified for."""

    id: int
    student: int
    branch: int
    day: date


@dataclass(frozen=True)
class Credit:
    """A make-up credit as a client learnt it."""

    id: int
    student: int
    branch: int
    expires_on: date


@dataclass
class Known:
    """Ids the clients learnt from answers (shared; stale ones just get 404)."""

    series: dict[int, int] = field(default_factory=dict)  # id -> branch
    sessions: list[int] = field(default_factory=list)
    closures: set[tuple[int, str]] = field(default_factory=set)
    lessons: list[Lesson] = field(default_factory=list)  # private, after today
    notices: list[tuple[int, int]] = field(default_factory=list)  # (lesson, student)
    credits: dict[int, Credit] = field(default_factory=dict)  # free to use, as last seen
    spent: dict[int, Credit] = field(default_factory=dict)  # used or revoked, as last seen
    makeups: list[tuple[int, int]] = field(default_factory=list)  # (lesson, credit)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_lesson(self, lesson: Lesson, rnd: random.Random) -> None:
        with self.lock:
            _keep(self.lessons, lesson, rnd)

    def pick_lesson(self, rnd: random.Random, after: date) -> Lesson | None:
        with self.lock:
            some = rnd.sample(self.lessons, min(20, len(self.lessons)))
        return next((x for x in some if x.day > after), None)

    def add_session(self, session_id: int, rnd: random.Random) -> None:
        with self.lock:
            if len(self.sessions) < 3000:
                self.sessions.append(session_id)
            else:
                self.sessions[rnd.randrange(len(self.sessions))] = session_id

    def pick_session(self, rnd: random.Random) -> int | None:
        with self.lock:
            return rnd.choice(self.sessions) if self.sessions else None

    def pick_series(self, rnd: random.Random) -> int | None:
        with self.lock:
            return rnd.choice(list(self.series)) if self.series else None


def _keep(items: list[Any], item: Any, rnd: random.Random, limit: int = 3000) -> None:
    """Append `item`, or replace a random one once `limit` are kept."""
    if len(items) < limit:
        items.append(item)
    else:
        items[rnd.randrange(len(items))] = item


class Load:
    """C clients over the servers until `stop()`; everything they see goes to `ledger`."""

    def __init__(
        self,
        *,
        servers: list[str],
        token: str,
        school: School,
        ledger: Ledger,
        clients: int,
        seed: int,
    ) -> None:
        self.servers = servers
        self.token = token
        self.school = school
        self.ledger = ledger
        self.clients = clients
        self.seed = seed
        self.known = Known()
        self.counts: Counter[str] = Counter()
        self.epoch = 0  # bumped as a restore starts and ends: replays meeting one are not kept
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._next = 0
        self.failures: list[str] = []

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> None:
        """Start the clients."""
        for n in range(self.clients):
            thread = threading.Thread(
                target=self._client, args=(n,), name=f"soak-client-{n}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop the clients once their requests in flight are answered."""
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def bump_epoch(self) -> None:
        with self._lock:
            self.epoch += 1

    def count_request(self) -> None:
        with self._lock:
            self.ledger.requests += 1

    def count(self, what: str, n: int = 1) -> None:
        with self._lock:
            self.counts[what] += n

    def _client(self, n: int) -> None:
        rnd = random.Random(self.seed * 1000 + n)  # noqa: S311 - load, not security
        ops, weights = zip(*MIX.items(), strict=True)
        with httpx.Client(
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=httpx.Timeout(90.0, connect=5.0),
        ) as http:
            while not self._stop.is_set():
                op = rnd.choices(ops, weights)[0]
                try:
                    getattr(self, "_" + op.replace(".", "_"))(http, rnd)
                except Exception as exc:  # a bug of the load itself: keep it, go on
                    self.failures.append(f"{op}: {type(exc).__name__}: {exc}")
                    time.sleep(0.1)

    # -- one request, retried -----------------------------------------------------------

    def _server(self, *, avoid: str | None = None) -> str:
        with self._lock:
            self._next += 1
            choice = self.servers[self._next % len(self.servers)]
        if choice == avoid and len(self.servers) > 1:
            choice = self.servers[(self.servers.index(choice) + 1) % len(self.servers)]
        return choice

    def send_once(
        self,
        http: httpx.Client,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        server: str | None = None,
    ) -> Answer:
        """Send one request (no retry) and count it."""
        headers = {"Idempotency-Key": key} if key else {}
        self.count_request()
        try:
            response = http.request(
                method, (server or self._server()) + path, json=body, headers=headers
            )
        except httpx.HTTPError as exc:  # the body says what was lost, for the report
            return Answer(0, f"{type(exc).__name__}: {exc}")
        try:
            data = response.json()
        except ValueError:
            data = response.text
        kind = data.get("type") if isinstance(data, dict) else None
        return Answer(response.status_code, data, kind)

    def call(
        self,
        http: httpx.Client,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
    ) -> tuple[Answer, float]:
        """Send until answered below 500 (keyed: same key; in progress: wait); return the
        answer and when it was first sent. Every 5xx or lost connection is a ServerError."""
        first_sent = time.time()
        deadline = time.monotonic() + RETRY_FOR_SECONDS
        errors: list[tuple[int, float, float, str | None]] = []
        last_server: str | None = None
        pause = 0.05
        while True:
            server = self._server(avoid=last_server)
            sent = time.time()
            answer = self.send_once(http, method, path, body, key=key, server=server)
            failed = answer.status == 0 or answer.status >= 500
            if failed:
                said = answer.problem_type or (answer.body if answer.status == 0 else None)
                errors.append((answer.status, sent, time.time(), said))
                last_server = server
            waiting = answer.status == 409 and answer.problem_type == IN_PROGRESS
            if not (failed or waiting) or time.monotonic() > deadline:
                break
            time.sleep(pause)
            pause = min(pause * 2, 1.0)
        ok = 0 < answer.status < 500
        for status, sent, at, said in errors:
            self.ledger.errors.append(ServerError(method, path, status, at, ok, sent, said))
        return answer, first_sent

    def write(
        self,
        http: httpx.Client,
        op: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        keyed: bool = True,
    ) -> Answer:
        """Send a write (keyed unless told), retried; a 2xx goes to the ledger as an Ack."""
        if keyed and key is None and method == "POST":
            key = uuid.uuid4().hex
        answer, sent = self.call(http, method, path, body, key=key)
        self.count(f"{op} {answer.status}")
        if 200 <= answer.status < 300:
            self.ledger.acks.append(
                Ack(op, method, path, answer.status, body, answer.body, key, sent, time.time())
            )
        return answer

    # -- reads -------------------------------------------------------------------------

    def _day(self, rnd: random.Random, lo: int, hi: int) -> str:
        return (self.school.today + timedelta(days=rnd.randint(lo, hi))).isoformat()

    def _read_schedule(self, http: httpx.Client, rnd: random.Random) -> None:
        branch = rnd.choice(self.school.branches)
        path = f"/api/branches/{branch}/schedule?date={self._day(rnd, 0, 30)}"
        answer, _ = self.call(http, "GET", path)
        self.count(f"read.schedule {answer.status}")

    def _read_sessions(self, http: httpx.Client, rnd: random.Random) -> None:
        answer, _ = self.call(http, "GET", f"/api/class-sessions?date={self._day(rnd, 0, 60)}")
        self.count(f"read.sessions {answer.status}")
        if answer.status == 200 and isinstance(answer.body, dict):
            for item in answer.body.get("items", [])[:20]:
                self.known.add_session(int(item["id"]), rnd)
                self._learn_lesson(item, rnd)

    def _learn_lesson(self, item: dict[str, Any], rnd: random.Random) -> None:
        """Keep a live private lesson after today: an absence may be notified for it."""
        day = date.fromisoformat(str(item.get("date")))
        if item.get("student_id") and item.get("status") != "CANCELLED" and day > self.school.today:
            lesson = Lesson(int(item["id"]), int(item["student_id"]), int(item["branch_id"]), day)
            self.known.add_lesson(lesson, rnd)

    # -- series ------------------------------------------------------------------------

    def _time(self, rnd: random.Random) -> tuple[str, str]:
        start = rnd.randrange(9 * 60, 20 * 60 + 1, 30)
        end = start + rnd.choice((60, 90))
        return f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}"

    def _new_series(self, rnd: random.Random) -> dict[str, Any]:
        branch = rnd.choice(self.school.branches)
        start, end = self._time(rnd)
        first = self.school.today + timedelta(days=rnd.randint(0, 21))
        body: dict[str, Any] = {
            "branch_id": branch,
            "teacher_id": rnd.choice(self.school.teachers),
            "student_id": rnd.choice(self.school.students),
            "weekdays": rnd.sample(WEEKDAYS, k=rnd.choice((1, 1, 2))),
            "start_time": start,
            "end_time": end,
            "first_date": first.isoformat(),
        }
        if rnd.random() < 0.5:
            body["room_id"] = rnd.choice(self.school.rooms[branch])
        if rnd.random() < 0.8:
            body["last_date"] = (first + timedelta(weeks=rnd.randint(4, 30))).isoformat()
        return body

    def _learn_series(self, answer: Answer, rnd: random.Random) -> None:
        if 200 <= answer.status < 300 and isinstance(answer.body, dict):
            series = answer.body.get("series", answer.body)
            with self.known.lock:
                self.known.series[int(series["id"])] = int(series["branch_id"])

    def _series_create(self, http: httpx.Client, rnd: random.Random) -> None:
        body = self._new_series(rnd)
        path = "/api/class-series"
        roll = rnd.random()
        if roll < 0.15:
            self._double_submit(http, "series.create", path, body, concurrent=False)
        elif roll < 0.25:
            self._double_submit(http, "series.create", path, body, concurrent=True)
        else:
            answer = self.write(http, "series.create", "POST", path, body)
            self._learn_series(answer, rnd)
            if answer.status == 201 and rnd.random() < 0.15:
                # The same series again, without a key: an ACTIVE duplicate is 409.
                again = self.write(http, "series.create", "POST", path, body, keyed=False)
                self.count("duplicate_create_refused" if again.status == 409 else "dup_other")

    def _double_submit(
        self, http: httpx.Client, op: str, path: str, body: Any, *, concurrent: bool
    ) -> None:
        """Send one keyed request twice; keep both answers (the first is the Ack)."""
        key = uuid.uuid4().hex
        epoch = self.epoch
        if concurrent:
            answers: list[Answer] = []

            def other() -> None:
                with httpx.Client(headers=dict(http.headers), timeout=http.timeout) as second:
                    answers.append(self.call(second, "POST", path, body, key=key)[0])

            thread = threading.Thread(target=other)
            thread.start()
            first = self.write(http, op, "POST", path, body, key=key)
            thread.join()
            replay = answers[0]
        else:
            first = self.write(http, op, "POST", path, body, key=key)
            replay = self.call(http, "POST", path, body, key=key)[0]
        self.count("replays")
        # The epoch is odd while a restore runs: a pair that met one may be undone by it.
        if epoch == self.epoch and epoch % 2 == 0:
            self.ledger.replays.append(
                Replay(key, path, first.status, first.body, replay.status, replay.body)
            )

    def _series_action(
        self, http: httpx.Client, rnd: random.Random, op: str, action: str, body: Any
    ) -> Answer | None:
        series = self.known.pick_series(rnd)
        if series is None:
            return None
        answer = self.write(http, op, "POST", f"/api/class-series/{series}/{action}", body)
        if answer.status == 404:
            with self.known.lock:
                self.known.series.pop(series, None)
        return answer

    def _series_extend(self, http: httpx.Client, rnd: random.Random) -> None:
        body = {"last_date": self._day(rnd, 220, 300)}
        self._series_action(http, rnd, "series.extend", "extend", body)

    def _series_pause(self, http: httpx.Client, rnd: random.Random) -> None:
        body = {"reason": "soak pause", "cancel_future": rnd.random() < 0.3}
        self._series_action(http, rnd, "series.pause", "pause", body)

    def _series_resume(self, http: httpx.Client, rnd: random.Random) -> None:
        self._series_action(http, rnd, "series.resume", "resume", None)

    def _series_end(self, http: httpx.Client, rnd: random.Random) -> None:
        body = {"last_date": self._day(rnd, 14, 90), "reason": "soak end"}
        self._series_action(http, rnd, "series.end", "end", body)

    def _series_change_from(self, http: httpx.Client, rnd: random.Random) -> None:
        start, end = self._time(rnd)
        body = {"from_date": self._day(rnd, 7, 40), "start_time": start, "end_time": end}
        answer = self._series_action(http, rnd, "series.change_from", "change-from", body)
        if answer is not None:
            self._learn_series(answer, rnd)

    def _series_enrol(self, http: httpx.Client, rnd: random.Random) -> None:
        self._enrolment(http, rnd, "series.enrol", "enrolments")

    def _series_unenrol(self, http: httpx.Client, rnd: random.Random) -> None:
        self._enrolment(http, rnd, "series.unenrol", "unenrol")

    def _enrolment(self, http: httpx.Client, rnd: random.Random, op: str, action: str) -> None:
        """Enrol a student in a group series, or end an enrolment, from a coming date."""
        if not self.school.groups:
            return
        group = rnd.choice(self.school.groups)
        body = {"student_id": rnd.choice(self.school.students), "from_date": self._day(rnd, 0, 30)}
        self.write(http, op, "POST", f"/api/class-series/{group}/{action}", body)

    # -- sessions and closures -----------------------------------------------------------

    def _session_create(self, http: httpx.Client, rnd: random.Random) -> None:
        branch = rnd.choice(self.school.branches)
        start, end = self._time(rnd)
        body: dict[str, Any] = {
            "branch_id": branch,
            "teacher_id": rnd.choice(self.school.teachers),
            "student_id": rnd.choice(self.school.students),
            "date": self._day(rnd, 1, 60),
            "start_time": start,
            "end_time": end,
        }
        if rnd.random() < 0.5:
            body["room_id"] = rnd.choice(self.school.rooms[branch])
        path = "/api/class-sessions"
        if rnd.random() < 0.1:
            self._double_submit(http, "session.create", path, body, concurrent=rnd.random() < 0.5)
            return
        answer = self.write(http, "session.create", "POST", path, body)
        if answer.status == 201 and isinstance(answer.body, dict):
            self.known.add_session(int(answer.body["id"]), rnd)
            self._learn_lesson(answer.body, rnd)

    def _session_cancel(self, http: httpx.Client, rnd: random.Random) -> None:
        session = self.known.pick_session(rnd)
        if session is not None:
            body = {"reason": "soak cancel"}
            self.write(
                http, "session.cancel", "POST", f"/api/class-sessions/{session}/cancel", body
            )

    def _session_move(self, http: httpx.Client, rnd: random.Random) -> None:
        session = self.known.pick_session(rnd)
        if session is None:
            return
        start, end = self._time(rnd)
        body = {"date": self._day(rnd, 1, 60), "start_time": start, "end_time": end}
        if rnd.random() < 0.5:
            body["reason"] = "soak move"
        self.write(http, "session.move", "POST", f"/api/class-sessions/{session}/move", body)

    def _closure_create(self, http: httpx.Client, rnd: random.Random) -> None:
        branch = rnd.choice(self.school.branches)
        day = self._day(rnd, 30, 150)
        body = {"date": day, "reason": "soak closure"}
        answer = self.write(
            http, "closure.create", "POST", f"/api/branches/{branch}/closures", body
        )
        if answer.status == 201:
            with self.known.lock:
                self.known.closures.add((branch, day))

    def _closure_delete(self, http: httpx.Client, rnd: random.Random) -> None:
        with self.known.lock:
            if not self.known.closures:
                return
            branch, day = rnd.choice(sorted(self.known.closures))
            self.known.closures.discard((branch, day))
        path = f"/api/branches/{branch}/closures/{day}"
        self.write(http, "closure.delete", "DELETE", path, keyed=False)

    # -- attendance and make-up (振替) lessons --------------------------------------------

    def _race(
        self, http: httpx.Client, sends: list[Callable[[httpx.Client], Answer]]
    ) -> list[Answer]:
        """Run `sends` at the same moment, each on a connection of its own (the first on
        `http`); return their answers in order."""
        answers: list[Answer | None] = [None] * len(sends)
        start = threading.Barrier(len(sends))

        def one(n: int) -> None:
            start.wait()
            if n == 0:
                answers[0] = sends[0](http)
                return
            with httpx.Client(headers=dict(http.headers), timeout=http.timeout) as other:
                answers[n] = sends[n](other)

        threads = [threading.Thread(target=one, args=(n,)) for n in range(1, len(sends))]
        for thread in threads:
            thread.start()
        one(0)
        for thread in threads:
            thread.join()
        return [a if a is not None else Answer(0, "no answer") for a in answers]

    def _mark(self, http: httpx.Client, op: str, lesson: int, student: int, state: str) -> Answer:
        body = {"marks": [{"student_id": student, "state": state}]}
        answer = self.write(http, op, "POST", f"/api/class-sessions/{lesson}/attendance", body)
        if answer.status == 422:
            self.count(f"{op} 422 {_code(answer)}")
        return answer

    def _attendance_notice(self, http: httpx.Client, rnd: random.Random) -> None:
        """Notify an absence before a coming lesson; sometimes two or three workers at once."""
        lesson = self.known.pick_lesson(rnd, self.school.today)
        if lesson is None:
            return
        op = "attendance.notice"
        workers = rnd.choice((2, 2, 3)) if rnd.random() < 0.3 else 1

        def send(client: httpx.Client) -> Answer:
            return self._mark(client, op, lesson.id, lesson.student, "absent_notified")

        answers = self._race(http, [send] * workers) if workers > 1 else [send(http)]
        issued = {
            int(c)
            for a in answers
            if a.status == 200 and isinstance(a.body, dict)
            for c in a.body.get("credits_issued", [])
        }
        winners = sum(
            1 for a in answers if a.status == 200 and (a.body or {}).get("credits_issued")
        )
        if workers > 1:
            self.count("notice_races")
            if winners > 1:  # the checks count it (credit_double_issues); seen here too
                self.count("notice_race_issued_twice")
        if any(a.status == 200 for a in answers):
            with self.known.lock:
                _keep(self.known.notices, (lesson.id, lesson.student), rnd)
        for credit in sorted(issued):
            end = _end_of_next_month(lesson.day)
            with self.known.lock:
                self.known.credits[credit] = Credit(credit, lesson.student, lesson.branch, end)

    def _attendance_roll(self, http: httpx.Client, rnd: random.Random) -> None:
        """Take the roll of a lesson (a mark that takes back a credit its absence earned)."""
        lesson = self.known.pick_lesson(rnd, self.school.today - timedelta(days=1))
        if lesson is not None:
            answer = self._mark(
                http, "attendance.roll", lesson.id, lesson.student, rnd.choice(ROLL_STATES)
            )
            self._taken_back(answer)

    def _attendance_correct(self, http: httpx.Client, rnd: random.Random) -> None:
        """Correct a notified absence to present: its credit is revoked (or flagged if used)."""
        with self.known.lock:
            if not self.known.notices:
                return
            lesson, student = rnd.choice(self.known.notices)
        answer = self._mark(http, "attendance.correct", lesson, student, "present")
        self._taken_back(answer)

    def _taken_back(self, answer: Answer) -> None:
        if answer.status != 200 or not isinstance(answer.body, dict):
            return
        for credit in answer.body.get("credits_revoked", []):
            self.count("credits_revoked")
            with self.known.lock:
                if (known := self.known.credits.pop(int(credit), None)) is not None:
                    self.known.spent[known.id] = known
        self.count("credits_flagged", len(answer.body.get("credits_flagged", [])))

    def _read_credits(self, http: httpx.Client, rnd: random.Random) -> None:
        """Read a student's credits; learn which are free (balance 1) and which are not."""
        student = rnd.choice(self.school.students)
        answer, _ = self.call(http, "GET", f"/api/students/{student}/credits")
        self.count(f"read.credits {answer.status}")
        if answer.status != 200 or not isinstance(answer.body, dict):
            return
        balance: Counter[int] = Counter()
        for entry in answer.body.get("entries", []):
            balance[int(entry["credit_id"])] += int(entry["amount"])
        with self.known.lock:
            for item in answer.body.get("credits", []):
                cid = int(item["id"])
                seen = self.known.credits.get(cid) or self.known.spent.get(cid)
                # The credit's branch, else any: a make-up lesson may be at another branch.
                branch = seen.branch if seen else rnd.choice(self.school.branches)
                known = Credit(cid, student, branch, date.fromisoformat(item["expires_on"]))
                free = balance[known.id] == 1
                (self.known.credits if free else self.known.spent)[known.id] = known
                (self.known.spent if free else self.known.credits).pop(known.id, None)

    def _makeup_book(self, http: httpx.Client, rnd: random.Random) -> None:
        """Book a make-up lesson with a credit; sometimes two workers with one credit at once,
        sometimes with a credit already used or revoked (refused)."""
        with self.known.lock:
            spent = rnd.random() < 0.15 and bool(self.known.spent)
            pool = self.known.spent if spent else self.known.credits
            if not pool:
                return
            credit = pool.pop(rnd.choice(list(pool)))
        last = min(credit.expires_on, self.school.today + timedelta(days=60))
        if last <= self.school.today:
            return
        op, path = "makeup.book", "/api/class-sessions"

        def body() -> dict[str, Any]:
            start, end = self._time(rnd)
            day = self.school.today + timedelta(
                days=rnd.randint(1, (last - self.school.today).days)
            )
            return {
                "branch_id": credit.branch,
                "teacher_id": rnd.choice(self.school.teachers),
                "student_id": credit.student,
                "date": day.isoformat(),
                "start_time": start,
                "end_time": end,
                "credit_id": credit.id,
            }

        workers = 2 if rnd.random() < 0.25 else 1
        bodies = [body() for _ in range(workers)]

        def sender(wanted: dict[str, Any]) -> Callable[[httpx.Client], Answer]:
            return lambda client: self.write(client, op, "POST", path, wanted)

        sends = [sender(b) for b in bodies]
        answers = self._race(http, sends) if workers > 1 else [sends[0](http)]
        made = [a for a in answers if a.status == 201 and isinstance(a.body, dict)]
        refused = [_code(a) for a in answers if a.status == 422]
        for code in refused:
            self.count(f"{op} 422 {code}")
        if spent:
            self.count("makeup_with_spent_credit")
        if workers > 1:
            self.count("makeup_races")
            if len(made) > 1:  # the checks count it (credit_double_uses); seen here too
                self.count("makeup_race_used_twice")
        with self.known.lock:
            for answer in made:
                lesson = int(answer.body["id"])
                _keep(self.known.sessions, lesson, rnd)
                _keep(self.known.makeups, (lesson, credit.id), rnd)
            if any(a.status == 404 for a in answers):  # gone (a restore undid it)
                pass
            elif made or any(c.startswith("credit.") for c in refused):
                self.known.spent[credit.id] = credit
            else:  # refused for another reason (a closed day, a duplicate): still free
                (self.known.spent if spent else self.known.credits)[credit.id] = credit

    def _makeup_cancel(self, http: httpx.Client, rnd: random.Random) -> None:
        """Cancel a make-up lesson: its credit comes back, free to use again."""
        with self.known.lock:
            if not self.known.makeups:
                return
            lesson, credit = self.known.makeups.pop(rnd.randrange(len(self.known.makeups)))
        body = {"reason": "soak make-up cancelled"}
        answer = self.write(
            http, "makeup.cancel", "POST", f"/api/class-sessions/{lesson}/cancel", body
        )
        if answer.status == 200:
            with self.known.lock:
                if (known := self.known.spent.pop(credit, None)) is not None:
                    self.known.credits[credit] = known


def _code(answer: Answer) -> str:
    """The first error code of a problem answer (e.g. credit.in-use)."""
    errors = answer.body.get("errors") if isinstance(answer.body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("code") or errors[0].get("field"))
    return str(answer.problem_type)


def _end_of_next_month(day: date) -> date:
    """The default policy's expiry of a credit earned on `day` (the checks do not use it)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, calendar.monthrange(year, month)[1])
