"""The series pages: a preview before saving, the database's 409 named with a link, and
every page and write scoped to the caller's branches."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from komawari.auth.enums import Role
from tests.factories.world import World, counts, next_weekday
from tests.web.pages import csrf_of, make_user, sign_in


@pytest.fixture
def office(client: TestClient, world: World, committed_engine: Engine) -> TestClient:
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303
    return client


def _form(w: World, **changes: object) -> dict[str, object]:
    return {
        "branch_id": w.branch_a,
        "teacher_id": w.teacher_1,
        "kind": "PRIVATE",
        "student_id": w.student_1,
        "weekdays": ["thu"],
        "start_time": "20:00",
        "end_time": "21:30",
        "first_date": next_weekday(1, weeks=0).isoformat(),
        "interval_weeks": 1,
    } | changes


def _create(client: TestClient, w: World, **changes: object):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/series/new").text)
    return client.post(
        "/series", data=_form(w, **changes) | {"csrf_token": token}, follow_redirects=False
    )


def test_the_form_previews_the_lessons_it_will_make_and_saves_nothing(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    before = counts(committed_engine)
    page = office.get("/series/new", params=_form(world) | {"preview": "1"})
    assert page.status_code == 200
    rows = re.findall(r"<tr class=\"[^\"]*\">\s*<td>", page.text)
    assert len(rows) >= 7, "about eight weekly lessons up to the horizon"
    assert "Preview: nothing is saved yet" in page.text
    fragment = office.get("/series/preview", params=_form(world))
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<section id="preview"')
    assert counts(committed_engine) == before


def test_the_preview_names_the_clashes_a_new_series_would_cause(
    office: TestClient, world: World
) -> None:
    assert _create(office, world).status_code == 303
    clash = office.get(
        "/series/preview",
        params=_form(world, student_id=world.student_2, start_time="21:00", end_time="22:00"),
    )
    assert "clash with existing lessons" in clash.text
    assert "Aoi" in clash.text  # the student of the lesson it clashes with


def test_saving_makes_the_series_and_shows_its_lessons_and_history(
    office: TestClient, world: World
) -> None:
    answer = _create(office, world)
    assert answer.status_code == 303
    detail = office.get(answer.headers["location"])
    assert detail.status_code == 200
    assert "Series saved" in detail.text
    assert detail.text.count("/sessions/") >= 7
    history = detail.text[detail.text.index('id="series-history"') :]
    assert "created the series" in history
    assert "office, on the web" in history
    assert "series.create" not in history


def test_the_same_series_again_is_refused_naming_the_existing_one_with_a_link(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    first = _create(office, world)
    existing = first.headers["location"].split("?")[0]
    before = counts(committed_engine)
    again = _create(office, world)
    assert again.status_code == 409
    assert f'href="{existing}"' in again.text
    assert "already exists" in again.text
    assert counts(committed_engine) == before
    assert office.get(existing).status_code == 200
    preview = office.get("/series/preview", params=_form(world))
    assert f'href="{existing}"' in preview.text


def test_bad_input_is_shown_next_to_its_field_and_saves_nothing(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    before = counts(committed_engine)
    answer = _create(office, world, start_time="21:00", end_time="20:00")
    assert answer.status_code == 422
    assert 'id="end_time-error"' in answer.text, "the error stands next to its field"
    assert 'aria-invalid="true"' in answer.text
    assert "must be after" in answer.text
    assert 'value="21:00"' in answer.text, "what the user typed is kept"
    assert counts(committed_engine) == before


def test_another_branchs_series_is_not_found_and_writing_there_is_forbidden(
    office: TestClient, client: TestClient, world: World, committed_engine: Engine
) -> None:
    made = client.post(
        "/api/class-series",
        json={"branch_id": world.branch_b, "teacher_id": world.teacher_2,
              "student_id": world.student_3, "weekdays": ["mon"], "start_time": "18:00",
              "end_time": "19:00", "first_date": next_weekday(1, weeks=0).isoformat()},
        headers={"Authorization": f"Bearer {world.admin}"},
    )  # fmt: skip
    assert made.status_code == 201
    theirs = made.json()["id"]
    assert office.get(f"/series/{theirs}").status_code == 404
    listed = office.get("/series")
    assert f"/series/{theirs}" not in listed.text
    before = counts(committed_engine)
    refused = _create(office, world, branch_id=world.branch_b, student_id=world.student_3)
    assert refused.status_code in (403, 422)
    assert counts(committed_engine) == before


def test_the_list_filters_by_teacher_and_status(office: TestClient, world: World) -> None:
    _create(office, world)
    _create(office, world, teacher_id=world.teacher_2, student_id=world.student_2)
    by_teacher = office.get("/series", params={"teacher_id": world.teacher_2})
    assert "Riku" in by_teacher.text
    assert "Aoi" not in by_teacher.text.split("<tbody>")[1]
    paused = office.get("/series", params={"status": "PAUSED"})
    assert "No series match." in paused.text


def test_a_form_without_its_csrf_token_is_refused_and_saves_nothing(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    before = counts(committed_engine)
    answer = office.post("/series", data=_form(world), follow_redirects=False)
    assert answer.status_code == 403
    assert counts(committed_engine) == before
