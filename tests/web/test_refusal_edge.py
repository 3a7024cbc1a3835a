"""Every write route, refused right after its first write, leaves the database as it was.

The transaction edge (`web/routing.py`, `RetryingRoute`) commits only an answer below 400.
This walks every POST, PATCH, PUT and DELETE route of the app, pages and /api: each gets a
request that would succeed, and the test makes the request's first real write be followed
by a refusal (a KomawariError of a few kinds, and an unexpected error for the 500 path).
A fingerprint of every table (a count and an md5 of its rows in primary key order) taken
before and after must be the same, and the answer a 4xx (a 500 for the unexpected error).
The same request, sent again without the refusal, must then succeed and change the
fingerprint: so the request was a real write, and only the refusal stopped it.

Where the refusal is raised: a write issued as a statement of its own (`session.execute`)
is refused in the engine's `after_cursor_execute` event, as soon as it ran. A write the ORM
makes in a flush is refused when that flush has returned: an exception raised inside a
flush makes SQLAlchemy roll the whole transaction back itself, which is not what a service
that refuses after its write does (it raises in its own code, the flushed rows still in the
transaction), and would let a page that commits a refused form pass unnoticed.

A new write route must be added to CASES: `test_every_write_route_has_a_request` fails
until it is (and for each action of `/series/{series_id}/{action}`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, get_args

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import Connection, ExecutionContext
from sqlalchemy.orm import Session

from komawari.auth import accounts, web_sessions
from komawari.auth import service as auth
from komawari.auth import sql as auth_sql
from komawari.auth.enums import Role
from komawari.auth.models import WebSession
from komawari.db.engine import session_scope
from komawari.db.registry import Base
from komawari.errors import Conflict, DuplicateSession, InvalidInput, KomawariError
from komawari.generation import sql as generation_sql
from komawari.notices import line_link
from komawari.notices.enums import Channel, MessageStatus
from komawari.notices.models import NoticeMessage
from komawari.series import action_pages
from komawari.series import service as series_service
from komawari.series.schemas import SeriesCreate
from komawari.web import csrf
from tests.factories.world import SETUP, World, bearer, next_weekday, one_off_body, series_body
from tests.web.pages import PASSWORD, make_user

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Writes that are no part of a request's change, so neither the first write the refusal
# follows nor part of the fingerprint:
# - idempotency_keys: a keyed POST claims its key before the handler runs, and a 4xx is
#   stored as the key's answer and committed on purpose (`idempotency.store_refusal`),
#   so that a retry with the key gets the same refusal.
# - sign_in_failures: a sign-in try is counted before its password is checked, committed
#   on a connection of its own (`web_sessions._reserve_try`), so that a refused or wrong
#   try still counts towards the throttle; a right password deletes the failures in the
#   request's transaction, a cleanup that is not the sign-in's change.
NOT_COUNTED = frozenset({"idempotency_keys", "sign_in_failures"})
# Bookkeeping of who called, not the request's change: a token's last use (noted in the
# statement that authenticates, `auth.service.CALLER_CTE`) and a web session's last
# request (`web_sessions.resolve`), each at most once a minute. They are written before the
# handler runs; refusing after them would never reach the route's own writes. They are in
# the request's transaction, so they are still fingerprinted (a refusal rolls them back).
BOOKKEEPING = re.compile(
    r"UPDATE\s+(?:api_tokens|web_sessions)\s+SET\s+last_(?:used|seen)_at\s*=\s*[^,]+?\s+WHERE",
    re.IGNORECASE,
)
WRITES = re.compile(
    r"\b(?:INSERT\s+INTO|DELETE\s+FROM|(?<!FOR\s)(?<!KEY\s)(?<!DO\s)UPDATE)\s+\"?(\w+)",
    re.IGNORECASE,
)
TABLES = frozenset(Base.metadata.tables)


def counted_write(statement: str) -> bool:
    """Tell whether a statement writes a table as part of a request's change."""
    written = {t for t in WRITES.findall(statement) if t in TABLES} - NOT_COUNTED
    return bool(written) and not BOOKKEEPING.search(statement)


# The refusals forced after the first write, with their own status. A client must get a
# 4xx for the KomawariErrors (a page may show a refusal with a 4xx of its own) and a 500
# for the unexpected error.
KINDS: dict[str, tuple[Callable[[], Exception], int]] = {
    "Conflict": (lambda: Conflict("refused by the test after the first write"), 409),
    "DuplicateSession": (lambda: DuplicateSession(None), 409),
    "InvalidInput": (
        lambda: InvalidInput("form", "refused by the test after the first write"),
        422,
    ),
    "RuntimeError": (lambda: RuntimeError("failed in the test after the first write"), 500),
}


class Refusal:
    """Raise an exception right after the first counted write of a request, when armed."""

    def __init__(self) -> None:
        self.make: Callable[[], Exception] | None = None
        self.flushing = 0
        self.pending: str | None = None
        self.fired: str | None = None

    def arm(self, make: Callable[[], Exception]) -> None:
        self.make, self.pending, self.fired = make, None, None

    def disarm(self) -> str | None:
        """Stop refusing; return the statement the refusal followed (None: it never fired)."""
        self.make = None
        return self.fired

    def _fire(self, statement: str) -> None:
        assert self.make is not None
        self.fired, self.pending = statement, None
        raise self.make()

    def after_cursor_execute(
        self,
        conn: Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: ExecutionContext | None,
        executemany: bool,
    ) -> None:
        if self.make is None or self.fired is not None or self.pending is not None:
            return
        if not counted_write(statement):
            return
        if self.flushing:
            self.pending = statement  # refused when the flush has returned
        else:
            self._fire(statement)

    def after_flush(self) -> None:
        if self.make is not None and self.pending is not None and not self.flushing:
            self._fire(self.pending)


@pytest.fixture
def refusal(committed_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Refusal]:
    """A Refusal listening to the app's engine and to every session's flush."""
    refusal = Refusal()
    original = Session.flush

    def flush(self: Session, objects: Sequence[Any] | None = None) -> None:
        refusal.flushing += 1
        try:
            if objects is None:
                original(self)
            else:
                original(self, objects)
        except BaseException:
            refusal.pending = None  # the flush failed: SQLAlchemy rolled it back
            raise
        finally:
            refusal.flushing -= 1
        refusal.after_flush()

    monkeypatch.setattr(Session, "flush", flush)
    event.listen(committed_engine, "after_cursor_execute", refusal.after_cursor_execute)
    yield refusal
    event.remove(committed_engine, "after_cursor_execute", refusal.after_cursor_execute)


def fingerprint(engine: Engine) -> dict[str, str]:
    """Return, per table, its row count and an md5 of its rows in primary key order."""
    parts = []
    for table in Base.metadata.sorted_tables:
        if table.name in NOT_COUNTED:
            continue
        order = ", ".join(f't."{c.name}"' for c in table.primary_key.columns) or "t::text"
        parts.append(
            f"SELECT '{table.name}', count(*), "
            f"md5(coalesce(string_agg(t::text, E'\\n' ORDER BY {order}), '')) "
            f'FROM "{table.name}" t'
        )
    with engine.connect() as conn:
        rows = conn.execute(text(" UNION ALL ".join(parts))).all()
    return {str(name): f"{count} rows, md5 {digest}" for name, count, digest in rows}


def changed(before: dict[str, str], after: dict[str, str]) -> dict[str, tuple[str, str]]:
    return {t: (before[t], after[t]) for t in before if before[t] != after[t]}


# The requests.


@dataclass(frozen=True)
class Call:
    """One request: an /api call with the admin's token, or a page form of the admin's."""

    method: str
    url: str
    json: dict[str, Any] | None = None
    form: dict[str, Any] | None = None
    key: bool = True  # an /api POST sends a fresh Idempotency-Key
    content: bytes | None = None  # a raw body with its own headers (LINE's webhook)
    headers: dict[str, str] | None = None


@dataclass
class Ctx:
    """What a case prepares its request with."""

    client: TestClient
    world: World
    engine: Engine
    page_csrf: str | None = None

    def setup(self, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        """Make a precondition through the API (as the admin); return its answer's JSON."""
        answer = self.client.request(method, url, json=body, headers=bearer(self.world.admin))
        assert answer.status_code < 300, answer.text
        return answer.json()

    def series(self, **changes: object) -> int:
        return int(
            self.setup("POST", "/api/class-series", series_body(self.world, **changes))["id"]
        )

    def group(self, *students: int) -> int:
        body = series_body(
            self.world, kind="GROUP", student_id=None, title="Conversation", capacity=3,
            student_ids=list(students), weekdays=["sat"],
        )  # fmt: skip
        return int(self.setup("POST", "/api/class-series", body)["id"])

    def one_off(self, **changes: object) -> int:
        return int(
            self.setup("POST", "/api/class-sessions", one_off_body(self.world, **changes))["id"]
        )

    def period(self) -> int:
        """A period of branch A (what a removal removes)."""
        body = {"name": f"P{uuid.uuid4().hex[:6]}", "start_time": "09:00", "end_time": "10:00"}
        return int(self.setup("POST", f"/api/branches/{self.world.branch_a}/periods", body)["id"])

    def cancelled(self) -> int:
        """A one-off lesson, cancelled (what a restore brings back)."""
        sid = self.one_off()
        self.setup("POST", f"/api/class-sessions/{sid}/cancel", {"reason": "ill"})
        return sid

    def signed_in(self, username: str = "admin") -> None:
        """Give the client a live web session of `username` (no argon2: the row is made)."""
        secret = auth.new_secret(web_sessions.SESSION_PREFIX)
        with session_scope(self.engine) as s:
            user = auth.get_user(s, username)
            assert user is not None
            s.add(
                WebSession(
                    user_id=user.id,
                    token_hash=auth.hash_secret(secret),
                    expires_at=datetime.now(UTC) + web_sessions.LIFETIME,
                    address="testclient",
                )
            )
        self.client.cookies.set(csrf.SESSION_COOKIE, secret)
        self.page_csrf = web_sessions.csrf_token(secret)

    def send(self, call: Call) -> httpx.Response:
        if call.content is not None:
            raw: httpx.Response = self.client.request(
                call.method, call.url, content=call.content, headers=call.headers
            )
            return raw
        if call.form is not None:
            token = self.page_csrf
            assert token is not None, "a page case signs in first"
            answer: httpx.Response = self.client.request(
                call.method, call.url, data={"csrf_token": token, **call.form},
                follow_redirects=False,
            )  # fmt: skip
            return answer
        headers = bearer(self.world.admin)
        if call.key and call.method == "POST":
            headers["Idempotency-Key"] = f"refusal-{uuid.uuid4().hex}"
        answer = self.client.request(call.method, call.url, json=call.json, headers=headers)
        return answer


@dataclass(frozen=True)
class Case:
    """A write route and how to build a request to it that would succeed."""

    name: str
    method: str
    path: str
    prepare: Callable[[Ctx], Call]
    action: str | None = None  # of /series/{series_id}/{action}


def _day(iso: int, weeks: int = 1) -> str:
    return next_weekday(iso, weeks=weeks).isoformat()


def _thursday(weeks: int) -> date:
    return next_weekday(4, weeks=0) + timedelta(weeks=weeks)


# Shared preparations, API and page alike.


def _closure_day(c: Ctx) -> str:
    c.one_off()  # a lesson the closure cancels
    return str(one_off_body(c.world)["date"])


def _closed_day(c: Ctx) -> str:
    day = _day(5)
    c.one_off(date=day)
    c.setup("POST", f"/api/branches/{c.world.branch_a}/closures", {"date": day, "reason": "x"})
    return day


def _extendable(c: Ctx) -> int:
    return c.series(last_date=_thursday(3).isoformat())


def _paused(c: Ctx) -> int:
    sid = c.series()
    c.setup("POST", f"/api/class-series/{sid}/pause", {"reason": "break"})
    return sid


SERIES_ACTIONS: dict[str, tuple[Callable[[Ctx], int], dict[str, Any]]] = {
    "pause": (lambda c: c.series(), {"reason": "break", "cancel_future": True}),
    "resume": (_paused, {}),
    "extend": (_extendable, {"last_date": _thursday(6).isoformat()}),
    "end": (lambda c: c.series(), {"last_date": _thursday(2).isoformat(), "reason": "moving"}),
    "change-from": (
        lambda c: c.series(),
        {"from_date": _thursday(2).isoformat(), "start_time": "18:00", "end_time": "19:30"},
    ),
}


def _api_series_action(action: str) -> Case:
    make, body = SERIES_ACTIONS[action]

    def prepare(c: Ctx) -> Call:
        sid = make(c)
        return Call("POST", f"/api/class-series/{sid}/{action}", json=body or None)

    return Case(
        f"api-series-{action}", "POST", f"/api/class-series/{{series_id}}/{action}", prepare
    )


def _page_series_action(action: str) -> Case:
    make, body = SERIES_ACTIONS[action]

    def prepare(c: Ctx) -> Call:
        sid = make(c)
        c.signed_in()
        form = {k: ("1" if v is True else v) for k, v in body.items()}
        return Call("POST", f"/series/{sid}/{action}", form=form)

    return Case(f"page-series-{action}", "POST", "/series/{series_id}/{action}", prepare, action)


def _page(name: str, path: str, prepare: Callable[[Ctx], Call]) -> Case:
    def signed_in_first(c: Ctx) -> Call:
        call = prepare(c)
        c.signed_in()
        return call

    return Case(name, "POST", path, signed_in_first)


def _sign_in(c: Ctx) -> Call:
    make_user(c.engine, "boss", Role.ADMIN)
    c.page_csrf = csrf.new_anonymous_token()  # the signed-out form's double-submit value
    c.client.cookies.set(csrf.ANON_COOKIE, c.page_csrf)
    return Call("POST", "/sign-in", form={"username": "boss", "password": PASSWORD, "next": "/"})


def _office(c: Ctx, *, active: bool = True) -> int:
    """A staff user the users' pages act on."""
    make_user(c.engine, "office", Role.STAFF, branch_ids=[c.world.branch_a])
    with session_scope(c.engine) as s:
        user = auth.get_user(s, "office")
        assert user is not None
        user.is_active = active
        return user.id


def _link(c: Ctx) -> Call:
    """A new user's one-time link, opened signed out."""
    with session_scope(c.engine) as s:
        issued = accounts.create(
            s, username="newcomer", role=Role.STAFF, branch_ids=[c.world.branch_a],
            teacher_id=None, actor=SETUP,
        )  # fmt: skip
    c.page_csrf = csrf.new_anonymous_token()
    c.client.cookies.set(csrf.ANON_COOKIE, c.page_csrf)
    new = "a new password here"
    return Call("POST", issued.path, form={"password": new, "repeat": new})


def _own_password(c: Ctx) -> Call:
    with session_scope(c.engine) as s:
        auth.set_password(s, username="admin", password=PASSWORD, actor=SETUP)
    new = "a new password here"
    return Call("POST", "/me/password", form={"current": PASSWORD, "password": new, "repeat": new})


def _unscheduled_series(c: Ctx) -> Call:
    """A series made without generating: generation has its lessons to make."""
    with session_scope(c.engine) as s:
        series_service.create(
            s, series_in=SeriesCreate.model_validate(series_body(c.world)), actor=SETUP,
            generate=False,
        )  # fmt: skip
    return Call("POST", "/api/generation-runs", json={"branch_id": c.world.branch_a})


def _one_off_form(c: Ctx) -> dict[str, Any]:
    return {k: str(v) for k, v in one_off_body(c.world).items()}


def _roll(c: Ctx, url: str, state: str) -> Call:
    """A roll form (a lesson's or a day's) marking student 1 of a new lesson."""
    sid = c.one_off()
    return Call("POST", url.format(sid=sid), form={f"state-{sid}-{c.world.student_1}": state})


def _series_form(c: Ctx) -> dict[str, Any]:
    return {k: v for k, v in series_body(c.world).items() if k != "weekdays"} | {
        "weekdays": ["thu"]
    }


def _contact(c: Ctx, **changes: object) -> int:
    """A contact of student 1 (a mother, by email unless `changes` say otherwise)."""
    body = {"name": "Tanaka Yoko", "relation": "mother", "email": "yoko@example.com"}
    url = f"/api/students/{c.world.student_1}/contacts"
    return int(c.setup("POST", url, body | changes)["id"])


def _line_webhook(c: Ctx) -> Call:
    """LINE's signed call with a contact's live link code, from a new LINE account."""
    code = c.setup("POST", f"/api/contacts/{_contact(c)}/line-code")["code"]
    c.client.app.dependency_overrides[line_link.channel_secret] = lambda: "refusal-secret"  # type: ignore[attr-defined]
    event = {"type": "message", "source": {"type": "user", "userId": "U" + "a" * 32},
             "message": {"type": "text", "id": "1", "text": code}}  # fmt: skip
    body = json.dumps({"destination": "Ux", "events": [event]}).encode()
    digest = hmac.new(b"refusal-secret", body, hashlib.sha256).digest()
    signed = {"X-Line-Signature": base64.b64encode(digest).decode(),
              "Content-Type": "application/json"}  # fmt: skip
    return Call("POST", "/api/line/webhook", content=body, headers=signed)


def _dead_message(c: Ctx) -> int:
    """A message that failed for good (what "send again" puts back in the queue)."""
    with session_scope(c.engine) as s:
        message = NoticeMessage(
            contact_id=_contact(c), channel=Channel.EMAIL, address="yoko@example.com",
            language="ja", subject="s", body_text="t", kinds=["cancel"],
            status=MessageStatus.DEAD, attempts=8, last_error="550 no such user",
        )  # fmt: skip
        s.add(message)
        s.flush()
        return message.id


def _group_makeup(c: Ctx) -> tuple[int, int]:
    """A group lesson with a seat (one-off: no capacity), and a credit of student 1's for
    a missed group lesson of the same length: (the lesson, the credit)."""

    def group(day: int, teacher: int, student: int) -> int:
        body = one_off_body(c.world, date=next_weekday(day).isoformat(), start_time="17:00",
                            end_time="18:00", teacher_id=teacher, kind="GROUP", title="Eigo",
                            student_ids=[student])  # fmt: skip
        body.pop("student_id")
        return int(c.setup("POST", f"{A}/class-sessions", body)["id"])

    missed = group(1, c.world.teacher_1, c.world.student_1)
    marks = {"marks": [{"student_id": c.world.student_1, "state": "absent_notified"}]}
    done = c.setup("POST", f"{A}/class-sessions/{missed}/attendance", marks)
    return group(4, c.world.teacher_2, c.world.student_2), int(done["credits_issued"][0])


def _makeup_join(c: Ctx, *, page: bool) -> Call:
    lesson, credit = _group_makeup(c)
    if page:
        form = {"session_id": str(lesson), "credit_id": str(credit)}
        return Call("POST", f"/students/{c.world.student_1}/makeup/join", form=form)
    body = {"student_id": c.world.student_1, "credit_id": credit}
    return Call("POST", f"{A}/class-sessions/{lesson}/makeup-attendees", json=body)


def _contact_form() -> dict[str, Any]:
    return {"name": "Tanaka Y", "language": "en", "quiet_start": "22:00", "quiet_end": "07:00",
            "pref-cancel": "email"}  # fmt: skip


A = "/api"
CASES: list[Case] = [
    # /api
    Case("api-calendar-feeds", "POST", f"{A}/calendar-feeds", lambda c: Call(
        "POST", f"{A}/calendar-feeds",
        json={"owner_type": "teacher", "owner_id": c.world.teacher_1},
        key=False)),  # its answer holds a secret: it refuses an Idempotency-Key
    Case("api-branches", "POST", f"{A}/branches", lambda c: Call(
        "POST", f"{A}/branches", json={"name": "Kyoto", "time_zone": "Asia/Tokyo"})),
    Case("api-period-add", "POST", f"{A}/branches/{{branch_id}}/periods", lambda c: Call(
        "POST", f"{A}/branches/{c.world.branch_a}/periods",
        json={"name": "1限", "start_time": "16:00", "end_time": "17:20"})),
    Case("api-period-remove", "DELETE", f"{A}/branches/{{branch_id}}/periods/{{period_id}}",
         lambda c: Call("DELETE", f"{A}/branches/{c.world.branch_a}/periods/{c.period()}")),
    Case("api-holidays", "POST", f"{A}/branches/{{branch_id}}/holidays", lambda c: Call(
        "POST", f"{A}/branches/{c.world.branch_a}/holidays", json={"closed": True})),
    Case("api-closure-add", "POST", f"{A}/branches/{{branch_id}}/closures", lambda c: Call(
        "POST", f"{A}/branches/{c.world.branch_a}/closures",
        json={"date": _closure_day(c), "reason": "holiday"})),
    Case("api-closure-remove", "DELETE", f"{A}/branches/{{branch_id}}/closures/{{date}}",
         lambda c: Call("DELETE", f"{A}/branches/{c.world.branch_a}/closures/{_closed_day(c)}")),
    Case("api-teacher-create", "POST", f"{A}/teachers", lambda c: Call(
        "POST", f"{A}/teachers", json={"name": "Tanaka"})),
    Case("api-teacher-rename", "PATCH", f"{A}/teachers/{{teacher_id}}", lambda c: Call(
        "PATCH", f"{A}/teachers/{c.world.teacher_2}", json={"name": "Tanaka"})),
    Case("api-teacher-deactivate", "POST", f"{A}/teachers/{{teacher_id}}/deactivate",
         lambda c: Call("POST", f"{A}/teachers/{c.world.teacher_2}/deactivate")),
    Case("api-student-create", "POST", f"{A}/students", lambda c: Call(
        "POST", f"{A}/students", json={"name": "Hana"})),
    Case("api-student-rename", "PATCH", f"{A}/students/{{student_id}}", lambda c: Call(
        "PATCH", f"{A}/students/{c.world.student_3}", json={"name": "Hana"})),
    Case("api-student-deactivate", "POST", f"{A}/students/{{student_id}}/deactivate",
         lambda c: Call("POST", f"{A}/students/{c.world.student_3}/deactivate")),
    Case("api-room-create", "POST", f"{A}/rooms", lambda c: Call(
        "POST", f"{A}/rooms", json={"branch_id": c.world.branch_a, "name": "A2", "capacity": 2})),
    Case("api-room-rename", "PATCH", f"{A}/rooms/{{room_id}}", lambda c: Call(
        "PATCH", f"{A}/rooms/{c.world.room_b}", json={"name": "B2"})),
    Case("api-room-deactivate", "POST", f"{A}/rooms/{{room_id}}/deactivate",
         lambda c: Call("POST", f"{A}/rooms/{c.world.room_b}/deactivate")),
    Case("api-series-create", "POST", f"{A}/class-series", lambda c: Call(
        "POST", f"{A}/class-series", json=series_body(c.world))),
    *(_api_series_action(a) for a in SERIES_ACTIONS),
    Case("api-series-enrol", "POST", f"{A}/class-series/{{series_id}}/enrolments", lambda c: Call(
        "POST", f"{A}/class-series/{c.group(c.world.student_1)}/enrolments",
        json={"student_id": c.world.student_2, "from_date": _day(1)})),
    Case("api-series-unenrol", "POST", f"{A}/class-series/{{series_id}}/unenrol", lambda c: Call(
        "POST", f"{A}/class-series/{c.group(c.world.student_1, c.world.student_2)}/unenrol",
        json={"student_id": c.world.student_2, "from_date": _day(1)})),
    Case("api-session-create", "POST", f"{A}/class-sessions", lambda c: Call(
        "POST", f"{A}/class-sessions", json=one_off_body(c.world))),
    Case("api-session-cancel", "POST", f"{A}/class-sessions/{{session_id}}/cancel", lambda c: Call(
        "POST", f"{A}/class-sessions/{c.one_off()}/cancel", json={"reason": "ill"})),
    Case("api-session-move", "POST", f"{A}/class-sessions/{{session_id}}/move", lambda c: Call(
        "POST", f"{A}/class-sessions/{c.one_off()}/move",
        json={"start_time": "19:00", "end_time": "20:00"})),
    Case("api-session-note", "POST", f"{A}/class-sessions/{{session_id}}/note", lambda c: Call(
        "POST", f"{A}/class-sessions/{c.one_off()}/note", json={"note": "mock exam"})),
    Case("api-session-restore", "POST", f"{A}/class-sessions/{{session_id}}/restore",
         lambda c: Call("POST", f"{A}/class-sessions/{c.cancelled()}/restore", json={})),
    Case("api-session-substitute", "POST", f"{A}/class-sessions/{{session_id}}/move",
         lambda c: Call("POST", f"{A}/class-sessions/{c.one_off()}/move",
                        json={"teacher_id": c.world.teacher_2})),
    Case("api-attendance", "POST", f"{A}/class-sessions/{{session_id}}/attendance",
         lambda c: Call("POST", f"{A}/class-sessions/{c.one_off()}/attendance",
                        json={"marks": [{"student_id": c.world.student_1,
                                         "state": "absent_notified"}]})),
    Case("api-attendance-day", "POST", f"{A}/branches/{{branch_id}}/attendance", lambda c: Call(
        "POST", f"{A}/branches/{c.world.branch_a}/attendance?date={_day(3)}",
        json={"lessons": [{"session_id": c.one_off(), "marks": [
            {"student_id": c.world.student_1, "state": "present"}]}]})),
    Case("api-teacher-absence", "POST", f"{A}/class-sessions/{{session_id}}/teacher-absence",
         lambda c: Call("POST", f"{A}/class-sessions/{c.one_off()}/teacher-absence",
                        json={"absent": True, "reason": "flu"})),
    Case("api-credit-policy", "POST", f"{A}/branches/{{branch_id}}/credit-policies",
         lambda c: Call("POST", f"{A}/branches/{c.world.branch_a}/credit-policies",
                        json={"lesson_kind": "PRIVATE", "expiry_days": 30})),
    Case("api-generation-run", "POST", f"{A}/generation-runs", _unscheduled_series),
    Case("api-contact-add", "POST", f"{A}/students/{{student_id}}/contacts", lambda c: Call(
        "POST", f"{A}/students/{c.world.student_1}/contacts",
        json={"name": "Tanaka Yoko", "relation": "mother", "email": "yoko@example.com"})),
    Case("api-contact-unlink", "DELETE", f"{A}/students/{{student_id}}/contacts/{{contact_id}}",
         lambda c: Call("DELETE", f"{A}/students/{c.world.student_1}/contacts/{_contact(c)}")),
    Case("api-contact-update", "PATCH", f"{A}/contacts/{{contact_id}}", lambda c: Call(
        "PATCH", f"{A}/contacts/{_contact(c)}", json={"preferences": {"reminder": []}})),
    Case("api-contact-line-code", "POST", f"{A}/contacts/{{contact_id}}/line-code",
         lambda c: Call("POST", f"{A}/contacts/{_contact(c)}/line-code", key=False)),
    Case("api-makeup-join", "POST", f"{A}/class-sessions/{{session_id}}/makeup-attendees",
         lambda c: _makeup_join(c, page=False)),
    Case("api-reminder-time", "POST", f"{A}/branches/{{branch_id}}/reminder-time", lambda c: Call(
        "POST", f"{A}/branches/{c.world.branch_a}/reminder-time", json={"time": "19:30"})),
    Case("api-notice-send-again", "POST", f"{A}/notices/messages/{{message_id}}/send-again",
         lambda c: Call("POST", f"{A}/notices/messages/{_dead_message(c)}/send-again")),
    Case("api-teacher-contact", "PUT", f"{A}/teachers/{{teacher_id}}/contact", lambda c: Call(
        "PUT", f"{A}/teachers/{c.world.teacher_1}/contact", json={"name": "Sato Sensei"})),
    Case("api-line-webhook", "POST", f"{A}/line/webhook", _line_webhook),
    # pages
    Case("page-sign-in", "POST", "/sign-in", _sign_in),
    _page("page-sign-out", "/sign-out", lambda c: Call("POST", "/sign-out", form={})),
    _page("page-language", "/language", lambda c: Call(
        "POST", "/language", form={"locale": "ja", "next": "/"})),
    _page("page-session-cancel", "/sessions/{session_id}/cancel", lambda c: Call(
        "POST", f"/sessions/{c.one_off()}/cancel", form={"reason": "ill"})),
    _page("page-session-move", "/sessions/{session_id}/move", lambda c: Call(
        "POST", f"/sessions/{c.one_off()}/move",
        form={"start_time": "19:00", "end_time": "20:00"})),
    _page("page-session-note", "/sessions/{session_id}/note", lambda c: Call(
        "POST", f"/sessions/{c.one_off()}/note", form={"note": "mock exam"})),
    _page("page-session-restore", "/sessions/{session_id}/restore", lambda c: Call(
        "POST", f"/sessions/{c.cancelled()}/restore", form={"reason": "back"})),
    _page("page-session-substitute", "/sessions/{session_id}/move", lambda c: Call(
        "POST", f"/sessions/{c.one_off()}/move", form={"teacher_id": str(c.world.teacher_2)})),
    _page("page-roll-lesson", "/sessions/{session_id}/attendance", lambda c: _roll(
        c, "/sessions/{sid}/attendance", "absent_notified")),
    _page("page-roll-day", "/branches/{branch_id}/roll", lambda c: _roll(
        c, f"/branches/{c.world.branch_a}/roll?date={_day(3)}", "present")),
    _page("page-roll-tap", "/me/today/{session_id}/mark", lambda c: Call(
        "POST", f"/me/today/{c.one_off()}/mark",
        form={"student_id": str(c.world.student_1), "state": "late"})),
    _page("page-roll-all-present", "/me/today/{session_id}/all-present", lambda c: Call(
        "POST", f"/me/today/{c.one_off()}/all-present", form={})),
    _page("page-teacher-absence", "/sessions/{session_id}/teacher-absence", lambda c: Call(
        "POST", f"/sessions/{c.one_off()}/teacher-absence", form={"absent": "1"})),
    _page("page-credit-policy", "/branches/{branch_id}/credit-policy", lambda c: Call(
        "POST", f"/branches/{c.world.branch_a}/credit-policy",
        form={"lesson_kind": "GROUP", "earning_states": "absent", "makeup_seats": "2"})),
    _page("page-session-create", "/sessions", lambda c: Call(
        "POST", "/sessions", form=_one_off_form(c))),
    _page("page-series-create", "/series", lambda c: Call("POST", "/series", form=_series_form(c))),
    *(_page_series_action(a) for a in SERIES_ACTIONS),
    _page("page-closure-add", "/branches/{branch_id}/closures", lambda c: Call(
        "POST", f"/branches/{c.world.branch_a}/closures",
        form={"date": _closure_day(c), "reason": "holiday"})),
    _page("page-period-add", "/branches/{branch_id}/periods", lambda c: Call(
        "POST", f"/branches/{c.world.branch_a}/periods",
        form={"name": "2限", "start_time": "17:30", "end_time": "18:50"})),
    _page("page-period-remove", "/branches/{branch_id}/periods/{period_id}/remove",
          lambda c: Call("POST", f"/branches/{c.world.branch_a}/periods/{c.period()}/remove",
                         form={})),
    _page("page-makeup-join", "/students/{student_id}/makeup/join",
          lambda c: _makeup_join(c, page=True)),
    _page("page-reminder-time", "/branches/{branch_id}/reminder-time", lambda c: Call(
        "POST", f"/branches/{c.world.branch_a}/reminder-time", form={"time": "19:30"})),
    _page("page-holidays", "/branches/{branch_id}/holidays", lambda c: Call(
        "POST", f"/branches/{c.world.branch_a}/holidays", form={"closed": "on"})),
    _page("page-closure-remove", "/branches/{branch_id}/closures/remove", lambda c: Call(
        "POST", f"/branches/{c.world.branch_a}/closures/remove", form={"date": _closed_day(c)})),
    _page("page-user-create", "/users", lambda c: Call(
        "POST", "/users",
        form={"username": "newcomer", "role": "staff", "branch_ids": str(c.world.branch_a)})),
    _page("page-user-update", "/users/{user_id}", lambda c: Call(
        "POST", f"/users/{_office(c)}",
        form={"role": "staff", "branch_ids": str(c.world.branch_b)})),
    _page("page-user-disable", "/users/{user_id}/disable", lambda c: Call(
        "POST", f"/users/{_office(c)}/disable", form={})),
    _page("page-user-enable", "/users/{user_id}/enable", lambda c: Call(
        "POST", f"/users/{_office(c, active=False)}/enable", form={})),
    _page("page-user-end-sessions", "/users/{user_id}/end-sessions", lambda c: Call(
        "POST", f"/users/{_office(c)}/end-sessions", form={})),
    _page("page-user-reset", "/users/{user_id}/reset", lambda c: Call(
        "POST", f"/users/{_office(c)}/reset", form={})),
    Case("page-password-link", "POST", "/password/{secret}", _link),
    _page("page-own-password", "/me/password", _own_password),
    _page("page-own-language", "/me/language", lambda c: Call(
        "POST", "/me/language", form={"locale": "ja"})),
    _page("page-teacher-create", "/teachers", lambda c: Call(
        "POST", "/teachers", form={"name": "Tanaka"})),
    _page("page-student-create", "/students", lambda c: Call(
        "POST", "/students", form={"name": "Hana"})),
    _page("page-room-create", "/rooms", lambda c: Call(
        "POST", "/rooms",
        form={"branch_id": str(c.world.branch_a), "name": "A2", "capacity": "2"})),
    _page("page-teacher-rename", "/teachers/{teacher_id}/rename", lambda c: Call(
        "POST", f"/teachers/{c.world.teacher_2}/rename", form={"name": "Tanaka"})),
    _page("page-student-rename", "/students/{student_id}/rename", lambda c: Call(
        "POST", f"/students/{c.world.student_3}/rename", form={"name": "Hana"})),
    _page("page-room-rename", "/rooms/{room_id}/rename", lambda c: Call(
        "POST", f"/rooms/{c.world.room_b}/rename", form={"name": "B2"})),
    _page("page-teacher-deactivate", "/teachers/{teacher_id}/deactivate", lambda c: Call(
        "POST", f"/teachers/{c.world.teacher_2}/deactivate", form={})),
    _page("page-student-deactivate", "/students/{student_id}/deactivate", lambda c: Call(
        "POST", f"/students/{c.world.student_3}/deactivate", form={})),
    _page("page-room-deactivate", "/rooms/{room_id}/deactivate", lambda c: Call(
        "POST", f"/rooms/{c.world.room_b}/deactivate", form={})),
    _page("page-contact-add", "/students/{student_id}/contacts", lambda c: Call(
        "POST", f"/students/{c.world.student_1}/contacts",
        form={"name": "Tanaka Yoko", "relation": "mother", "email": "yoko@example.com"})),
    _page("page-contact-remove", "/students/{student_id}/contacts/{contact_id}/remove",
          lambda c: Call("POST", f"/students/{c.world.student_1}/contacts/{_contact(c)}/remove",
                         form={})),
    _page("page-notice-send-again", "/operator/notices/{message_id}/send-again",
          lambda c: Call("POST", f"/operator/notices/{_dead_message(c)}/send-again", form={})),
    _page("page-contact-save", "/contacts/{contact_id}", lambda c: Call(
        "POST", f"/contacts/{_contact(c)}", form=_contact_form())),
    _page("page-contact-line-code", "/contacts/{contact_id}/line-code", lambda c: Call(
        "POST", f"/contacts/{_contact(c)}/line-code", form={})),
    _page("page-contact-line-unlink", "/contacts/{contact_id}/line-unlink", lambda c: Call(
        "POST", f"/contacts/{_contact(c, line_user_id='U' + 'b' * 32)}/line-unlink", form={})),
]  # fmt: skip


def test_every_write_route_has_a_request(app: FastAPI) -> None:
    """A write route CASES has no request for fails here: add one to CASES."""
    routes = {
        (method, str(route.path))
        for route in iter_route_contexts(app.routes)
        for method in route.methods or ()
        if method in WRITE_METHODS
    }
    covered = {(case.method, case.path) for case in CASES}
    assert routes - covered == set(), "write routes without a request in CASES"
    assert covered - routes == set(), "CASES names routes the app does not have"
    actions = {case.action for case in CASES if case.path == "/series/{series_id}/{action}"}
    assert actions == set(get_args(action_pages.Action)), "each series action needs a case"
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_write_refused_after_its_first_write_changes_nothing(
    case: Case, client: TestClient, world: World, committed_engine: Engine, refusal: Refusal
) -> None:
    ctx = Ctx(client, world, committed_engine)
    call = case.prepare(ctx)
    before = fingerprint(committed_engine)
    failures: dict[str, str] = {}
    for kind, (make, status) in KINDS.items():
        refusal.arm(make)
        try:
            answer = ctx.send(call)
        finally:
            fired = refusal.disarm()
        after = fingerprint(committed_engine)
        if fired is None:
            failures[kind] = f"no write to refuse; the answer was {answer.status_code}"
        elif after != before:
            failures[kind] = (
                f"answered {answer.status_code} but committed {sorted(changed(before, after))} "
                f"(refused after {' '.join(fired.split())[:90]!r})"
            )
            break  # the next kinds would start from a changed database
        elif status < 500 and not 400 <= answer.status_code < 500:
            failures[kind] = f"answered {answer.status_code}, not a 4xx"
        elif status >= 500 and answer.status_code != 500:
            failures[kind] = f"answered {answer.status_code}, not 500"
    assert not failures, f"{case.method} {case.path}: {failures}"
    done = ctx.send(call)
    assert done.status_code < 400, f"the request itself does not succeed: {done.text[:300]}"
    assert changed(before, fingerprint(committed_engine)), "the request wrote nothing"


# A refusal the product makes itself, after a first write: the example that showed the
# half-committed change (a change-from whose new series is a duplicate ended the old series
# and cancelled its lessons, then answered 409).


@pytest.mark.parametrize("where", ["page", "api"])
def test_a_change_from_refused_as_a_duplicate_changes_nothing(
    where: str, client: TestClient, world: World, committed_engine: Engine
) -> None:
    ctx = Ctx(client, world, committed_engine)
    sid = ctx.series()
    # An ACTIVE series at the times the change moves the first one to: its new series is a
    # duplicate, found only after the old one was ended and its later lessons cancelled.
    ctx.series(start_time="18:00", end_time="19:00", first_date=_thursday(2).isoformat())
    change = {"from_date": _thursday(2).isoformat(), "start_time": "18:00", "end_time": "19:00"}
    ctx.signed_in()
    before = fingerprint(committed_engine)
    if where == "page":
        answer = ctx.send(Call("POST", f"/series/{sid}/change-from", form=change))
    else:
        answer = ctx.send(Call("POST", f"/api/class-series/{sid}/change-from", json=change))
    assert answer.status_code == 409, answer.text[:300]
    assert changed(before, fingerprint(committed_engine)) == {}


def test_what_counts_as_a_write() -> None:
    """The statements the refusal follows: a request's changes, not its bookkeeping."""
    assert counted_write("INSERT INTO teachers (name) VALUES (%(name)s) RETURNING teachers.id")
    assert counted_write("UPDATE class_series SET status=%(status)s WHERE class_series.id = 1")
    assert counted_write("DELETE FROM branch_closures WHERE branch_closures.id = %(id)s")
    assert counted_write(generation_sql.GENERATE_SQL)  # its writes are data-modifying CTEs
    assert not counted_write("SELECT * FROM class_sessions WHERE id = 1 FOR UPDATE")
    assert not counted_write("SELECT * FROM class_sessions FOR NO KEY UPDATE SKIP LOCKED")
    assert not counted_write(f"WITH {auth.CALLER_CTE} SELECT * FROM caller")
    assert not counted_write(
        "UPDATE web_sessions SET last_seen_at=%(last_seen_at)s::TIMESTAMP WITHOUT TIME ZONE "
        "WHERE web_sessions.id = %(web_sessions_id)s::BIGINT"
    )
    assert not counted_write(auth_sql.CLAIM_KEY)
    assert not counted_write("INSERT INTO sign_in_failures (username, address, at) VALUES (1)")


def test_kinds_are_refusals_the_pages_know() -> None:
    """The forced kinds are KomawariErrors with their status (the last one is unexpected)."""
    for kind, (make, status) in KINDS.items():
        made = make()
        if status < 500:
            assert isinstance(made, KomawariError)
            assert made.status_code == status, kind
        else:
            assert not isinstance(made, KomawariError), kind
