"""Breaks: a series takes a break from a day until a day, and goes on by itself after it;
resuming (of a break or an open pause) brings back the lessons the pause cancelled.

The series: Sato with Aoi at Shibuya, Wednesdays 16:00-17:00, from two weeks ago.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from komawari.audit.models import AuditEvent
from komawari.audit.service import Actor
from komawari.db.engine import session_scope
from komawari.generation import service as generation
from komawari.generation.enums import RunTrigger
from komawari.scheduling import clock
from komawari.series import lifecycle
from komawari.series.models import SeriesPauseRecord
from komawari.sessions.models import ClassSession
from tests.factories.race import race
from tests.factories.world import World, bearer, next_weekday, series_body

WED = next_weekday(3)  # a Wednesday one to two weeks ahead


@pytest.fixture
def series(client: TestClient, world: World) -> int:
    body = series_body(
        world, weekdays=[3], start_time="16:00", end_time="17:00",
        first_date=(WED - timedelta(days=21)).isoformat(),
    )  # fmt: skip
    made = client.post("/api/class-series", json=body, headers=bearer(world.admin))
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def lessons(engine: Engine, series_id: int) -> dict[date, str]:
    """The series' lessons by date: their status."""
    with session_scope(engine) as s:
        rows = s.execute(
            select(ClassSession.date, ClassSession.status).where(
                ClassSession.series_id == series_id
            )
        )
        return {d: st.value for d, st in rows}


def events(engine: Engine, action: str) -> int:
    with session_scope(engine) as s:
        return int(s.scalar(select(func.count()).where(AuditEvent.action == action)) or 0)


def take_break(
    client: TestClient, token: str, series_id: int, first: date, until: date
) -> tuple[int, dict[str, object]]:
    answer = client.post(
        f"/api/class-series/{series_id}/pause",
        json={"from_date": first.isoformat(), "until": until.isoformat(), "reason": "winter"},
        headers=bearer(token),
    )
    return answer.status_code, answer.json()


def test_a_two_week_break_cancels_its_days_only_and_the_series_goes_on(
    client: TestClient, world: World, committed_engine: Engine, series: int
) -> None:
    before = lessons(committed_engine, series)
    status, body = take_break(client, world.staff_a, series, WED, WED + timedelta(days=13))
    assert status == 200, body
    after = lessons(committed_engine, series)
    assert (after[WED], after[WED + timedelta(days=7)]) == ("CANCELLED", "CANCELLED")
    # The day before and the day after the break keep their lessons.
    assert after[WED - timedelta(days=7)] == before[WED - timedelta(days=7)] == "CONFIRMED"
    assert after[WED + timedelta(days=14)] == "CONFIRMED"
    assert body["series"]["status"] == "ACTIVE"  # type: ignore[index]
    assert len(body["cancelled_session_ids"]) == 2  # type: ignore[arg-type]
    with session_scope(committed_engine) as s:
        reasons = s.scalars(
            select(ClassSession.cancel_reason).where(ClassSession.date == WED)
        ).all()
    assert reasons == ["series_break: winter"]
    assert events(committed_engine, "series.break") == 1


def test_no_lesson_is_made_on_a_break_beyond_the_horizon(
    client: TestClient, world: World, committed_engine: Engine, series: int
) -> None:
    """A break past the days made so far: generation skips its days (counted as paused)
    and makes the days after it."""
    first = WED + timedelta(weeks=10)
    status, body = take_break(client, world.admin, series, first, first + timedelta(days=7))
    assert status == 200, body
    assert body["cancelled_session_ids"] == []
    with session_scope(committed_engine) as s:
        result = generation.generate_in(
            s,
            trigger=RunTrigger.CLI,
            scope=generation.Scope(series_id=series, through=first + timedelta(weeks=3)),
            actor=Actor("test", "pytest"),
        )
    made = lessons(committed_engine, series)
    assert first not in made
    assert first + timedelta(days=7) not in made
    assert made[first - timedelta(days=7)] == made[first + timedelta(days=14)] == "CONFIRMED"
    assert result.counts.skipped_paused == 2


def test_resume_ends_a_break_and_brings_back_what_it_cancelled_only(
    client: TestClient, world: World, committed_engine: Engine, series: int
) -> None:
    """The break's lessons come back, except one a person restored and then cancelled on
    their own since; the series' far break days not yet made are made."""
    take_break(client, world.admin, series, WED, WED + timedelta(weeks=12))
    with session_scope(committed_engine) as s:
        own = s.scalars(
            select(ClassSession.id).where(
                ClassSession.series_id == series, ClassSession.date == WED + timedelta(days=7)
            )
        ).one()
    headers = bearer(world.admin)
    assert client.post(f"/api/class-sessions/{own}/restore", headers=headers).status_code == 200
    again = client.post(f"/api/class-sessions/{own}/cancel", json={"reason": "trip"},
                        headers=headers)  # fmt: skip
    assert again.status_code == 200
    back = client.post(f"/api/class-series/{series}/resume", headers=headers)
    assert back.status_code == 200, back.text
    after = lessons(committed_engine, series)
    assert after[WED] == "CONFIRMED"
    assert after[WED + timedelta(days=7)] == "CANCELLED"  # cancelled on its own: stays
    assert after[WED + timedelta(days=14)] == "CONFIRMED"
    assert len(back.json()["restored_session_ids"]) >= 2
    assert own not in back.json()["restored_session_ids"]
    # A second resume finds no break.
    assert client.post(f"/api/class-series/{series}/resume", headers=headers).status_code == 422


def test_resume_of_an_open_pause_brings_its_lessons_back(
    client: TestClient, world: World, committed_engine: Engine, series: int
) -> None:
    """The office's finding: "Resume answered No lesson changes and brought none back"."""
    headers = bearer(world.admin)
    body = {"cancel_future": True, "reason": "moving"}
    paused = client.post(f"/api/class-series/{series}/pause", json=body, headers=headers)
    assert paused.status_code == 200, paused.text
    cancelled = paused.json()["cancelled_session_ids"]
    assert cancelled
    assert lessons(committed_engine, series)[WED] == "CANCELLED"
    back = client.post(f"/api/class-series/{series}/resume", headers=headers)
    assert back.status_code == 200, back.text
    assert sorted(back.json()["restored_session_ids"]) == sorted(cancelled)
    assert lessons(committed_engine, series)[WED] == "CONFIRMED"


def test_an_open_pause_keeps_a_lesson_that_has_started(
    committed_engine: Engine, world: World, series: int
) -> None:
    """Pausing during a lesson cancels the ones that have not started, not that one."""
    during = datetime.combine(WED, time(7, 30), tzinfo=UTC)  # 16:30 in Tokyo
    with session_scope(committed_engine) as s:
        _, ids = lifecycle.pause(s, series, actor=Actor("test", "pytest"), cancel_future=True,
                                 now=during)  # fmt: skip
        dates = set(s.scalars(select(ClassSession.date).where(ClassSession.id.in_(ids))))
    assert WED not in dates
    assert WED + timedelta(days=7) in dates


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"from_date": "WED"}, "until"),
        ({"from_date": "WED+7", "until": "WED"}, "until"),
        ({"from_date": "YESTERDAY", "until": "WED"}, "from_date"),
        ({"from_date": "WED", "until": "WED+400"}, "until"),
        ({"from_date": "WED+2", "until": "WED+9"}, "from_date"),  # overlaps the first break
    ],
)
def test_a_wrong_break_names_its_field_and_changes_nothing(
    client: TestClient, world: World, committed_engine: Engine, series: int,
    body: dict[str, str], field: str,
) -> None:  # fmt: skip
    take_break(client, world.admin, series, WED, WED + timedelta(days=6))
    days = {"WED": WED, "WED+7": WED + timedelta(days=7), "WED+2": WED + timedelta(days=2),
            "WED+9": WED + timedelta(days=9), "WED+400": WED + timedelta(days=400),
            "YESTERDAY": clock.branch_today("Asia/Tokyo") - timedelta(days=1)}  # fmt: skip
    sent = {k: days[v].isoformat() for k, v in body.items()}
    before = (lessons(committed_engine, series), events(committed_engine, "series.break"))
    answer = client.post(f"/api/class-series/{series}/pause", json=sent,
                         headers=bearer(world.admin))  # fmt: skip
    assert answer.status_code == 422, answer.text
    assert field in answer.text
    after = (lessons(committed_engine, series), events(committed_engine, "series.break"))
    assert after == before


def test_a_break_as_each_role(
    client: TestClient, world: World, committed_engine: Engine, series: int
) -> None:
    body = series_body(world, branch_id=world.branch_b, room_id=world.room_b, weekdays=[5])
    theirs = client.post("/api/class-series", json=body, headers=bearer(world.admin)).json()["id"]
    until = WED + timedelta(days=6)
    assert take_break(client, world.staff_a, theirs, WED, until)[0] == 404
    assert take_break(client, world.teacher, series, WED, until)[0] == 403
    assert take_break(client, world.admin, theirs, WED, until)[0] == 200
    assert take_break(client, world.staff_a, series, WED, until)[0] == 200


def test_two_staff_taking_the_same_break_at_once_make_one(
    committed_engine: Engine, world: World, series: int
) -> None:
    """Two transactions on their own connections take the same break at once: one takes
    it and is audited; the other is told the series already has that break."""
    outcomes = race(
        committed_engine,
        ["kato", "ito"],
        lambda s, who: lifecycle.pause(
            s, series, actor=Actor("user", who), reason="winter", from_date=WED,
            until=WED + timedelta(days=13),
        ),
    )  # fmt: skip
    assert outcomes == ["done", "from_date"]
    assert events(committed_engine, "series.break") == 1
    assert events(committed_engine, "series.break.cancel_sessions") == 1
    with session_scope(committed_engine) as s:
        assert s.scalar(select(func.count()).select_from(SeriesPauseRecord)) == 1


def test_the_break_page_previews_then_takes_the_break(
    client: TestClient, world: World, committed_engine: Engine, series: int
) -> None:
    from komawari.auth.enums import Role
    from tests.web.pages import csrf_of, make_user, sign_in

    make_user(committed_engine, "clerk", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "clerk") == 303
    query = {"from_date": WED.isoformat(), "until": (WED + timedelta(days=13)).isoformat(),
             "reason": "winter"}  # fmt: skip
    preview = client.get(f"/series/{series}/pause", params=query)
    assert preview.status_code == 200
    assert 'id="break"' in preview.text
    assert "2 lessons are cancelled" in preview.text
    assert lessons(committed_engine, series)[WED] == "CONFIRMED"  # a preview changes nothing
    form = {**query, "csrf_token": csrf_of(preview.text)}
    done = client.post(f"/series/{series}/pause", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    detail = client.get(done.headers["location"]).text
    assert 'id="breaks"' in detail
    assert "End the break now" in detail
    resume = client.get(f"/series/{series}/resume")
    assert "2 lessons come back" in resume.text
