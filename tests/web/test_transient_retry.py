"""A request whose transaction PostgreSQL aborts for its timing runs again, whole.

The aborts are real PostgreSQL errors: a statement trigger on `class_sessions` raises a
deadlock (40P01) or a serialization failure (40001) for the first N statements that insert
into it. Its count is a sequence, which a rollback does not undo.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text

from komawari.audit.models import AuditEvent
from komawari.auth.enums import Role
from komawari.db.engine import session_scope
from komawari.sessions.models import ClassSession
from komawari.web.routing import ATTEMPTS
from tests.factories.world import World, bearer, counts, one_off_body
from tests.web.pages import csrf_of, make_user, sign_in

Inject = Callable[[int, str], None]


@pytest.fixture
def abort_inserts(committed_engine: Engine) -> Iterator[Inject]:
    """Yield `inject(n, sqlstate)`: the next n inserts into class_sessions abort with it."""

    def inject(n: int, sqlstate: str) -> None:
        with committed_engine.begin() as c:
            c.execute(text("CREATE SEQUENCE test_aborts"))
            c.execute(
                text(f"""
                CREATE FUNCTION test_abort() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  IF nextval('test_aborts') <= {n} THEN
                    RAISE EXCEPTION 'injected by the test' USING ERRCODE = '{sqlstate}';
                  END IF;
                  RETURN NULL;
                END $$""")
            )
            c.execute(
                text(
                    "CREATE TRIGGER test_abort BEFORE INSERT ON class_sessions"
                    " FOR EACH STATEMENT EXECUTE FUNCTION test_abort()"
                )
            )

    yield inject
    with committed_engine.begin() as c:
        c.execute(text("DROP TRIGGER IF EXISTS test_abort ON class_sessions"))
        c.execute(text("DROP FUNCTION IF EXISTS test_abort()"))
        c.execute(text("DROP SEQUENCE IF EXISTS test_aborts"))


def _aborts_used(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.scalar(text("SELECT last_value FROM test_aborts")) or 0)


def _created_events(engine: Engine) -> int:
    with session_scope(engine) as s:
        query = select(func.count()).where(AuditEvent.action == "session.create")
        return s.scalar(query) or 0


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])
def test_a_booking_aborted_twice_for_its_timing_is_booked_once_on_the_third_run(
    client: TestClient,
    world: World,
    committed_engine: Engine,
    abort_inserts: Inject,
    sqlstate: str,
) -> None:
    abort_inserts(ATTEMPTS - 1, sqlstate)
    headers = {**bearer(world.admin), "Idempotency-Key": f"book-{sqlstate}"}
    made = client.post("/api/class-sessions", json=one_off_body(world), headers=headers)
    assert made.status_code == 201, made.text
    assert _aborts_used(committed_engine) == ATTEMPTS  # two aborted runs, then the one kept
    with session_scope(committed_engine) as s:
        assert s.scalar(select(func.count()).select_from(ClassSession)) == 1
    assert _created_events(committed_engine) == 1
    # The key's claim was rolled back with each aborted run and stored with the kept one.
    again = client.post("/api/class-sessions", json=one_off_body(world), headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == made.json()


def test_a_booking_aborted_every_time_is_a_503_that_changed_nothing(
    client: TestClient, world: World, committed_engine: Engine, abort_inserts: Inject
) -> None:
    abort_inserts(ATTEMPTS, "40P01")
    before = counts(committed_engine)
    headers = {**bearer(world.admin), "Idempotency-Key": "book-always-aborted"}
    refused = client.post("/api/class-sessions", json=one_off_body(world), headers=headers)
    assert refused.status_code == 503
    assert refused.headers["Retry-After"]
    assert _aborts_used(committed_engine) == ATTEMPTS  # no fourth run
    assert counts(committed_engine) == before
    # Nothing was stored under the key: the client's own retry runs (and now succeeds).
    retried = client.post("/api/class-sessions", json=one_off_body(world), headers=headers)
    assert retried.status_code == 201, retried.text
    assert "Idempotent-Replayed" not in retried.headers


def test_an_error_that_is_not_about_timing_runs_once(
    client: TestClient, world: World, committed_engine: Engine, abort_inserts: Inject
) -> None:
    abort_inserts(1, "23514")  # a check violation: running again would not help
    refused = client.post(
        "/api/class-sessions", json=one_off_body(world), headers=bearer(world.admin)
    )
    assert refused.status_code == 409, refused.text
    assert _aborts_used(committed_engine) == 1


def test_a_booking_from_the_page_aborted_once_is_booked_once(
    client: TestClient, world: World, committed_engine: Engine, abort_inserts: Inject
) -> None:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303
    token = csrf_of(client.get("/sessions/new").text)
    abort_inserts(1, "40P01")
    made = client.post(
        "/sessions", data={"csrf_token": token, **one_off_body(world)}, follow_redirects=False
    )
    assert made.status_code == 303, made.text
    assert _aborts_used(committed_engine) == 2
    assert _created_events(committed_engine) == 1
