"""Calendar feeds survive old bad rows, escape control characters and keep keys secret."""

from __future__ import annotations

import logging
import threading
import time

import httpx
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import Engine, text

from komawari.db.engine import session_scope
from komawari.web.calendar import redact_keys
from tests.factories.world import World, bearer, free_port, series_body

FEED = {"owner_type": "teacher", "owner_id": 1}


def _feed_url(client: TestClient, w: World) -> str:
    made = client.post("/api/calendar-feeds", json=FEED, headers=bearer(w.admin))
    assert made.status_code == 201, made.text
    return str(made.json()["url"])


def test_a_session_stored_at_9999_12_31_does_not_break_the_feed(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    assert client.post("/api/class-series", json=series_body(world), headers=bearer(world.admin))
    url = _feed_url(client, world)
    with session_scope(committed_engine) as s:  # a row from before dates were bounded
        first = "(SELECT min(id) FROM class_sessions)"
        day = "'9999-12-31'"
        s.execute(
            text(
                f"UPDATE class_sessions SET date = {day}, original_date = {day} WHERE id = {first}"
            )
        )
    response = client.get(url)
    assert response.status_code == 200, response.text
    starts = [e["DTSTART"].dt.year for e in Calendar.from_ical(response.content).walk("VEVENT")]
    assert 9999 in starts


def test_control_characters_of_old_rows_are_escaped_in_the_feed(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    body = series_body(world, room_id=world.room_a)
    assert client.post("/api/class-series", json=body, headers=bearer(world.admin)).is_success
    url = _feed_url(client, world)
    with session_scope(committed_engine) as s:  # rows from before the text rules held
        for table, name in (("students", "Aoi\x1b]0;owned\x07"), ("rooms", "A1\x1b[2J")):
            s.execute(text(f"UPDATE {table} SET name = :name WHERE id = 1"), {"name": name})
        s.execute(text("UPDATE teachers SET name = :name WHERE id = 1"), {"name": "Sato\x85"})
    response = client.get(url)
    assert response.status_code == 200
    assert not any(b in response.content for b in (b"\x1b", b"\x07", "\x85".encode()))
    event = Calendar.from_ical(response.content).walk("VEVENT")[0]
    assert "Aoi\\x1b]0;owned\\x07" in str(event["SUMMARY"])
    assert "A1\\x1b[2J" in str(event["LOCATION"])


def test_a_feed_key_is_never_stored_for_a_replay(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    keyed = client.post(
        "/api/calendar-feeds",
        json=FEED,
        headers={**bearer(world.admin), "Idempotency-Key": "feed-1"},
    )
    assert keyed.status_code == 422
    assert [e["field"] for e in keyed.json()["errors"]] == ["Idempotency-Key"]
    assert client.get("/calendar/teachers/1.ics").status_code == 404  # no feed was made
    key = client.post("/api/calendar-feeds", json=FEED, headers=bearer(world.admin)).json()["key"]
    with session_scope(committed_engine) as s:
        stored = s.scalars(text("SELECT coalesce(response_body::text, '') FROM idempotency_keys"))
        assert not [body for body in stored if key in body]
        assert s.scalar(text("SELECT count(*) FROM idempotency_keys")) == 0
    spec = client.get("/api/openapi.json").json()["paths"]["/api/calendar-feeds"]["post"]
    assert "Idempotency-Key" not in {p["name"] for p in spec.get("parameters", [])}


def test_redact_keys_hides_every_spelling_of_the_key_parameter() -> None:
    assert (
        redact_keys("/calendar/teachers/1.ics?key=abc") == "/calendar/teachers/1.ics?key=[redacted]"
    )
    assert redact_keys("/x.ics?a=1&%6Bey=abc&b=2") == "/x.ics?a=1&%6Bey=[redacted]&b=2"
    assert redact_keys("/api/branches?keys=1") == "/api/branches?keys=1"
    assert redact_keys("/healthz") == "/healthz"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_feed_keys_do_not_reach_the_access_log(
    app: FastAPI, client: TestClient, world: World
) -> None:
    url = _feed_url(client, world)
    key = url.split("key=")[1]
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="info"))
    records = _Records()
    access = logging.getLogger("uvicorn.access")
    access.addHandler(records)  # after uvicorn configured logging, as a log shipper would
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        answer = httpx.get(f"http://127.0.0.1:{port}{url}", timeout=10)
        assert answer.status_code == 200
    finally:
        server.should_exit = True
        thread.join(10)
        access.removeHandler(records)
    feed_lines = [line for line in records.lines if "/calendar/teachers/1.ics" in line]
    assert feed_lines, records.lines
    assert not [line for line in feed_lines if key in line]
    assert "key=[redacted]" in feed_lines[0]
