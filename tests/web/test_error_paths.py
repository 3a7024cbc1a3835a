"""The five ways a request is refused, each read in English and in Japanese on the pages,
and each answered with its code by the API: a bad value (validation), a rule (refusal),
a duplicate (conflict), something missing (not found), and too many sign-ins."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from komawari.auth import web_sessions
from komawari.auth.enums import Role
from komawari.auth.models import User
from komawari.db.engine import session_scope
from tests.factories.world import World, bearer, one_off_body, series_body
from tests.web.pages import PASSWORD, csrf_of, make_user, sign_in

LANGUAGES = ["en", "ja"]


@pytest.fixture
def office(client: TestClient, world: World, committed_engine: Engine) -> TestClient:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303
    return client


def _speak(engine: Engine, locale: str) -> None:
    with session_scope(engine) as s:
        s.execute(update(User).where(User.username == "office").values(locale=locale))


def _post(client: TestClient, form_page: str, action: str, data: dict[str, object]) -> str:
    token = csrf_of(client.get(form_page).text)
    answer = client.post(action, data={"csrf_token": token, **data})
    assert 400 <= answer.status_code < 500, answer.status_code
    return answer.text


VALIDATION = {"en": "must be after the start time", "ja": "開始時刻より後の時刻を入力してください"}


@pytest.mark.parametrize("locale", LANGUAGES)
def test_a_bad_value_reads_in_the_pages_language_and_the_api_gives_its_code(
    office: TestClient, world: World, committed_engine: Engine, locale: str
) -> None:
    _speak(committed_engine, locale)
    form = {k: str(v) for k, v in one_off_body(world, start_time="19:00", end_time="18:00").items()}
    html = _post(office, "/sessions/new", "/sessions", form)
    assert VALIDATION[locale] in html
    assert VALIDATION["en" if locale == "ja" else "ja"] not in html
    api = office.post(
        "/api/class-sessions", headers=bearer(world.staff_a),
        json=one_off_body(world, start_time="19:00", end_time="18:00"),
    )  # fmt: skip
    assert api.status_code == 422
    assert api.json()["code"] == "invalid-input"
    assert api.json()["errors"][0]["code"] == "time.end-not-after-start"


REFUSAL = {"en": "this lesson is already cancelled", "ja": "この授業はすでに休講になっています"}


@pytest.mark.parametrize("locale", LANGUAGES)
def test_a_refusal_reads_in_the_pages_language_and_the_api_gives_its_code(
    office: TestClient, world: World, committed_engine: Engine, locale: str
) -> None:
    made = office.post(
        "/api/class-sessions", headers=bearer(world.staff_a), json=one_off_body(world)
    )
    lesson = made.json()["id"]
    cancel = {"reason": "ill"}
    assert office.post(f"/api/class-sessions/{lesson}/cancel", headers=bearer(world.staff_a),
                       json=cancel).status_code == 200  # fmt: skip
    _speak(committed_engine, locale)
    html = _post(office, f"/sessions/{lesson}", f"/sessions/{lesson}/cancel", cancel)
    assert REFUSAL[locale] in html, html[:2000]
    again = office.post(f"/api/class-sessions/{lesson}/cancel", headers=bearer(world.staff_a),
                        json=cancel)  # fmt: skip
    assert again.json()["code"] == "lesson.already-cancelled"


CONFLICT = {"en": "This series already exists", "ja": "この定期授業はすでにあります"}


@pytest.mark.parametrize("locale", LANGUAGES)
def test_a_duplicate_reads_in_the_pages_language_and_the_api_gives_its_code(
    office: TestClient, world: World, committed_engine: Engine, locale: str
) -> None:
    body = series_body(world)
    assert (
        office.post("/api/class-series", headers=bearer(world.staff_a), json=body).status_code
        == 201
    )
    _speak(committed_engine, locale)
    form = {k: v for k, v in body.items() if k != "weekdays"} | {"weekdays": ["thu"]}
    html = _post(office, "/series/new", "/series", form)
    assert CONFLICT[locale] in html
    again = office.post("/api/class-series", headers=bearer(world.staff_a), json=body)
    assert again.status_code == 409
    assert again.json()["code"] == "series.duplicate"


NOT_FOUND = {"en": "there is no lesson number 987654", "ja": "番号 987654 の授業はありません"}


@pytest.mark.parametrize("locale", LANGUAGES)
def test_something_missing_reads_in_the_pages_language_and_the_api_gives_its_code(
    office: TestClient, world: World, committed_engine: Engine, locale: str
) -> None:
    _speak(committed_engine, locale)
    page = office.get("/sessions/987654")
    assert page.status_code == 404
    assert NOT_FOUND[locale] in page.text
    assert "/docs" not in page.text
    assert 'href="/"' in page.text, "a way back to the day"
    api = office.get("/api/class-sessions/987654", headers=bearer(world.staff_a))
    assert api.status_code == 404
    assert api.json()["code"] == "lesson.not-found"


THROTTLED = {"en": "You can try again in 15 minutes.", "ja": "15分後に再度お試しください。"}


@pytest.mark.parametrize("locale", LANGUAGES)
def test_too_many_sign_ins_read_in_the_pages_language_with_their_code(
    client: TestClient, world: World, locale: str
) -> None:
    for _ in range(web_sessions.MAX_FAILURES_PER_USER):
        assert sign_in(client, "someone", "wrong password") == 401
    form = client.get("/sign-in")
    answer = client.post(
        "/sign-in", headers={"Accept-Language": locale},
        data={"csrf_token": csrf_of(form.text), "username": "someone", "password": PASSWORD,
              "next": "/"},
    )  # fmt: skip
    assert answer.status_code == 429
    assert THROTTLED[locale] in answer.text
    assert web_sessions.SignInThrottled(900).code == "sign-in.throttled"
