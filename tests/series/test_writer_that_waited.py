"""A write that waited for another writer's locks acts on what that writer committed.

A route's dependency loads the series or the session (to authorise the caller) before the
service takes its locks. When the service then waits for a concurrent writer of the same
resources, the row it loaded is stale by the time the locks are held; the service must read
it again, or it judges (and answers with) the state from before the wait. Found by the soak:
a pause answered with a last date a concurrent change-from had already moved.

Each test holds the locks in its own transaction, makes its change there, sends the request
over HTTP, waits until the request is blocked on a lock, and only then commits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from komawari.audit.service import Actor
from komawari.db.engine import session_scope
from komawari.series import lifecycle
from komawari.series.enums import SeriesStatus
from komawari.series.models import ClassSeries
from komawari.sessions import service as sessions
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from tests.factories.world import World, bearer, series_body

pytestmark = pytest.mark.concurrency
OTHER = Actor("test", "the other writer")


def _waiting_on_a_lock(engine: Engine) -> bool:
    with engine.connect() as c:
        found = c.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(found)


@contextmanager
def _request_behind(
    engine: Engine, send: Callable[[], httpx.Response]
) -> Iterator[list[httpx.Response]]:
    """Send the request in a thread; yield once it is blocked on a lock; join it after."""
    answers: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: answers.append(send()))
    thread.start()
    deadline = time.monotonic() + 30
    while not _waiting_on_a_lock(engine):
        assert thread.is_alive(), f"the request did not wait: {answers}"
        assert time.monotonic() < deadline, "the request never waited for the lock"
        time.sleep(0.02)
    yield answers
    thread.join(60)
    assert answers, "the request did not answer"


def _post(url: str, world: World, body: dict[str, object]) -> Callable[[], httpx.Response]:
    return lambda: httpx.post(url, json=body, headers=bearer(world.admin), timeout=60)


def _series(live_server: str, world: World) -> int:
    created = httpx.post(
        f"{live_server}/api/class-series",
        json=series_body(world),
        headers=bearer(world.admin),
        timeout=60,
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _first_session(engine: Engine, series_id: int) -> ClassSession:
    with session_scope(engine) as s:
        row = s.query(ClassSession).filter_by(series_id=series_id).order_by(ClassSession.date)
        found = row.first()
        assert found is not None
        s.expunge(found)
        return found


# What each lifecycle request sends; each is refused for a series that is ENDED.
AFTER_AN_END = {
    "pause": {},
    "end": {"last_date": "2099-01-01"},
    "extend": {"last_date": "2099-12-31"},
    "change-from": {"from_date": "2099-01-01", "start_time": "07:00", "end_time": "08:00"},
}


@pytest.mark.parametrize("action", sorted(AFTER_AN_END))
def test_a_lifecycle_request_that_waited_for_an_end_is_refused_and_changes_nothing(
    live_server: str, world: World, committed_engine: Engine, action: str
) -> None:
    series_id = _series(live_server, world)
    with Session(committed_engine) as other:
        ended, _ = lifecycle.end(other, series_id, last_date=date(2000, 1, 1), actor=OTHER)
        assert ended.status == SeriesStatus.ENDED  # held, not committed: the request waits
        url = f"{live_server}/api/class-series/{series_id}/{action}"
        with _request_behind(committed_engine, _post(url, world, AFTER_AN_END[action])) as answers:
            other.commit()
    answer = answers[0]
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "status"
    ended_code = "series.already-ended" if action == "end" else "series.not-active"
    assert answer.json()["code"] == ended_code
    with session_scope(committed_engine) as s:
        kept = s.get_one(ClassSeries, series_id)
        assert (kept.status, kept.last_date) == (SeriesStatus.ENDED, None)
        assert s.query(ClassSeries).count() == 1  # no new series from a change


def test_a_resume_that_waited_for_another_resume_is_refused(
    live_server: str, world: World, committed_engine: Engine
) -> None:
    series_id = _series(live_server, world)
    with Session(committed_engine) as other:
        lifecycle.pause(other, series_id, actor=OTHER)
        other.commit()
        lifecycle.resume(other, series_id, actor=OTHER)
        url = f"{live_server}/api/class-series/{series_id}/resume"
        with _request_behind(committed_engine, _post(url, world, {})) as answers:
            other.commit()
    answer = answers[0]
    assert answer.status_code == 422, answer.text
    assert "this series is active and not on a break" in answer.json()["detail"]


def test_a_pause_that_waited_for_a_shortening_answers_the_shortened_last_date(
    live_server: str, world: World, committed_engine: Engine
) -> None:
    series_id = _series(live_server, world)
    first = _first_session(committed_engine, series_id)
    last = first.date  # the series now ends on its first lesson
    with Session(committed_engine) as other:
        lifecycle.end(other, series_id, last_date=last, actor=OTHER)
        with _request_behind(
            committed_engine,
            _post(f"{live_server}/api/class-series/{series_id}/pause", world, {}),
        ) as answers:
            other.commit()
    answer = answers[0]
    assert answer.status_code == 200, answer.text
    assert answer.json()["series"]["last_date"] == last.isoformat()
    assert answer.json()["series"]["status"] == "PAUSED"


def test_a_cancel_that_waited_for_another_cancel_is_refused_and_keeps_the_first_reason(
    live_server: str, world: World, committed_engine: Engine
) -> None:
    series_id = _series(live_server, world)
    lesson = _first_session(committed_engine, series_id)
    with Session(committed_engine) as other:
        sessions.cancel(other, lesson.id, reason="teacher ill", actor=OTHER)
        with _request_behind(
            committed_engine,
            _post(
                f"{live_server}/api/class-sessions/{lesson.id}/cancel",
                world,
                {"reason": "student away"},
            ),
        ) as answers:
            other.commit()
    answer = answers[0]
    assert answer.status_code == 422, answer.text
    assert "already cancelled" in answer.json()["detail"]
    with session_scope(committed_engine) as s:
        row = s.get_one(ClassSession, lesson.id)
        assert (row.status, row.cancel_reason) == (SessionStatus.CANCELLED, "teacher ill")
