"""The contacts' pages, with JavaScript off: the student's week lists their family, a form
adds one (errors next to the field, nothing written), and a contact's page changes what
they hear and links LINE with a code and a QR code."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from komawari import config
from komawari.auth.enums import Role
from komawari.auth.models import User
from komawari.db.engine import session_scope
from komawari.notices.models import Contact, ContactStudent, LineLinkCode
from tests.factories.world import World, bearer, book, next_weekday
from tests.web.pages import csrf_of, make_user, sign_in
from tests.web.visible_text import database_words, visible_text

FRIEND = "https://lin.ee/kMwR1x"


@pytest.fixture
def office(client: TestClient, world: World, committed_engine: Engine) -> TestClient:
    """Staff of branch A, signed in; student 1 has a lesson at A, student 3 one at B."""
    book(committed_engine, world, next_weekday(3), "12:00", "13:00")
    book(committed_engine, world, next_weekday(3), "10:00", "11:00", branch_id=world.branch_b,
         teacher_id=world.teacher_2, student_id=world.student_3)  # fmt: skip
    make_user(committed_engine, "office", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "office") == 303
    return client


@pytest.fixture
def friend_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("KOMAWARI_LINE_FRIEND_URL", FRIEND)
    config.get_settings.cache_clear()
    yield FRIEND
    config.get_settings.cache_clear()


def _rows(engine: Engine) -> tuple[int, int]:
    with session_scope(engine) as s:
        return (
            s.scalar(select(func.count()).select_from(Contact)) or 0,
            s.scalar(select(func.count()).select_from(ContactStudent)) or 0,
        )


def _contact_id(engine: Engine, name: str) -> int:
    with session_scope(engine) as s:
        return s.scalars(select(Contact.id).where(Contact.name == name)).one()


def test_the_students_week_lists_the_family_and_adds_to_it_without_script(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    week = office.get(f"/students/{world.student_1}/week")
    assert week.status_code == 200
    assert 'id="contacts"' in week.text
    assert f'action="/students/{world.student_1}/contacts"' in week.text
    added = office.post(
        f"/students/{world.student_1}/contacts",
        data={
            "csrf_token": csrf_of(week.text),
            "name": "Tanaka Yoko",
            "relation": "mother",
            "email": "yoko@example.jp",
            "language": "ja",
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    assert added.headers["location"] == f"/students/{world.student_1}/contacts?done=created"
    listed = office.get(f"/students/{world.student_1}/week").text
    assert "Tanaka Yoko" in listed
    assert "yoko@example.jp" in listed
    assert "Not linked" in listed
    # The same mother for a sibling with no lesson yet: linked, not made twice.
    sibling = office.post(
        f"/students/{world.student_2}/contacts",
        data={
            "csrf_token": csrf_of(listed),
            "name": "Yoko",
            "relation": "mother",
            "email": "YOKO@example.jp",
        },
    )
    assert sibling.status_code == 200
    assert "already a contact of another student" in sibling.text
    assert _rows(committed_engine) == (1, 2)


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"name": "Yoko", "relation": "mother", "email": "yoko.example.jp"}, "email"),
        ({"name": " ", "relation": "mother"}, "name"),
        ({"name": "Yoko", "relation": "aunt"}, "relation"),
        ({"name": "Yoko"}, "relation"),
        ({"name": "Yoko", "relation": "mother", "language": "fr"}, "language"),
    ],
)
def test_a_bad_form_shows_the_error_next_to_its_field_and_writes_nothing(
    office: TestClient, world: World, committed_engine: Engine, form: dict[str, str], field: str
) -> None:
    page = office.get(f"/students/{world.student_1}/contacts")
    before = _rows(committed_engine)
    answer = office.post(f"/students/{world.student_1}/contacts",
                         data={"csrf_token": csrf_of(page.text), **form})  # fmt: skip
    assert answer.status_code == 422
    assert f'id="{field}-error"' in answer.text
    assert 'value="Yoko"' in answer.text or form["name"] == " ", "the form keeps what was typed"
    assert _rows(committed_engine) == before


def test_a_form_without_its_csrf_token_is_refused(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    answer = office.post(f"/students/{world.student_1}/contacts",
                         data={"name": "Yoko", "relation": "mother"})  # fmt: skip
    assert answer.status_code == 403
    assert _rows(committed_engine) == (0, 0)


def test_another_branchs_family_is_not_shown_nor_reachable(
    office: TestClient, client: TestClient, world: World, committed_engine: Engine
) -> None:
    made = client.post(f"/api/students/{world.student_3}/contacts",
                       json={"name": "B mother", "relation": "mother"},
                       headers=bearer(world.admin)).json()  # fmt: skip
    week = office.get(f"/students/{world.student_3}/week")
    assert week.status_code == 200
    assert 'id="contacts"' not in week.text
    assert "B mother" not in week.text
    assert office.get(f"/students/{world.student_3}/contacts").status_code == 404
    assert office.get(f"/contacts/{made['id']}").status_code == 404
    token = csrf_of(office.get(f"/students/{world.student_1}/contacts").text)
    refused = office.post(f"/contacts/{made['id']}", data={"csrf_token": token, "name": "X"})
    assert refused.status_code == 404
    assert _contact_id(committed_engine, "B mother") == made["id"]


def test_the_contact_page_changes_what_they_hear_and_their_quiet_hours(
    office: TestClient, world: World, committed_engine: Engine
) -> None:
    page = office.get(f"/students/{world.student_1}/contacts")
    office.post(f"/students/{world.student_1}/contacts",
                data={"csrf_token": csrf_of(page.text), "name": "Yoko", "relation": "mother",
                      "email": "yoko@example.jp"})  # fmt: skip
    cid = _contact_id(committed_engine, "Yoko")
    shown = office.get(f"/contacts/{cid}")
    assert shown.status_code == 200
    # Unlinked, with an email: the standard ticks email (absences are opt-in).
    assert 'name="pref-cancel" value="email" checked' in shown.text
    assert 'name="pref-cancel" value="line">' in shown.text
    form: dict[str, str | list[str]] = {
        "csrf_token": csrf_of(shown.text),
        "name": "Tanaka Yoko",
        "email": "yoko@example.jp",
        "language": "en",
        "quiet_start": "22:00",
        "quiet_end": "07:00",
    }
    standard = ("move", "substitute", "room", "restore", "break", "closure", "new_series",
                "credit_issued", "credit_expiring", "credit_used")  # fmt: skip
    ticks = {f"pref-{k}": ["email"] for k in standard}
    # Cancel: by LINE too; reminders: no box (muted); absences: as shown (opt-in, none).
    ticks["pref-cancel"] = ["email", "line"]
    saved = office.post(f"/contacts/{cid}", data=form | ticks)
    assert saved.status_code == 200
    assert "Saved." in saved.text
    with session_scope(committed_engine) as s:
        row = s.get_one(Contact, cid)
        assert (row.name, row.language, str(row.quiet_start)) == ("Tanaka Yoko", "en", "22:00:00")
        # Only what the form changed is a choice; the rest follows the standard.
        assert row.preferences == {"cancel": ["email", "line"], "reminder": []}
    bad = office.post(f"/contacts/{cid}", data={**form, "quiet_end": "7pm"})
    assert bad.status_code == 422
    assert 'id="quiet_end-error"' in bad.text
    with session_scope(committed_engine) as s:
        assert str(s.get_one(Contact, cid).quiet_end) == "07:00:00", "nothing changed"


def test_linking_line_shows_a_code_and_the_friend_link_as_a_qr_code(
    office: TestClient, world: World, committed_engine: Engine, friend_url: str
) -> None:
    page = office.get(f"/students/{world.student_1}/contacts")
    form = {"csrf_token": csrf_of(page.text), "name": "Yoko", "relation": "mother"}
    office.post(f"/students/{world.student_1}/contacts", data=form)
    cid = _contact_id(committed_engine, "Yoko")
    shown = office.get(f"/contacts/{cid}")
    assert "<svg" in shown.text
    assert 'id="line-qr"' in shown.text
    assert f'href="{friend_url}"' in shown.text
    assert 'id="line-code"' not in shown.text
    made = office.post(f"/contacts/{cid}/line-code", data={"csrf_token": csrf_of(shown.text)})
    assert made.status_code == 200
    with session_scope(committed_engine) as s:
        code = s.scalars(select(LineLinkCode.code).where(LineLinkCode.contact_id == cid)).one()
    assert f'id="line-code">{code}<' in made.text
    with session_scope(committed_engine) as s:
        s.execute(update(Contact).where(Contact.id == cid).values(line_user_id="U" + "c" * 32))
    linked = office.get(f"/contacts/{cid}")
    assert "Unlink LINE" in linked.text
    gone = office.post(f"/contacts/{cid}/line-unlink", data={"csrf_token": csrf_of(linked.text)})
    assert gone.status_code == 200
    with session_scope(committed_engine) as s:
        assert s.get_one(Contact, cid).line_user_id is None


def test_without_a_friend_link_the_page_says_line_is_not_set_up(
    office: TestClient, world: World, committed_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KOMAWARI_LINE_FRIEND_URL", raising=False)
    config.get_settings.cache_clear()
    made = office.post(f"/students/{world.student_1}/contacts",
                       data={"csrf_token": csrf_of(office.get("/students").text), "name": "Yoko",
                             "relation": "mother"})  # fmt: skip
    assert made.status_code == 200
    shown = office.get(f"/contacts/{_contact_id(committed_engine, 'Yoko')}")
    assert 'id="line-not-set-up"' in shown.text
    assert "<svg" not in shown.text


@pytest.mark.parametrize("locale", ["en", "ja"])
def test_the_contact_pages_speak_a_persons_words(
    office: TestClient, world: World, committed_engine: Engine, friend_url: str, locale: str
) -> None:
    with session_scope(committed_engine) as s:
        s.execute(update(User).where(User.username == "office").values(locale=locale))
    page = office.get(f"/students/{world.student_1}/contacts")
    office.post(f"/students/{world.student_1}/contacts",
                data={"csrf_token": csrf_of(page.text), "name": "Yoko", "relation": "mother",
                      "email": "yoko@example.jp"})  # fmt: skip
    cid = _contact_id(committed_engine, "Yoko")
    office.post(f"/contacts/{cid}/line-code", data={"csrf_token": csrf_of(page.text)})
    with session_scope(committed_engine) as s:
        code = s.scalars(select(LineLinkCode.code).where(LineLinkCode.contact_id == cid)).one()
    names = {"Yoko", "Aoi", "yoko", "example", "office", "Shibuya", "Osaka"}
    for path in (f"/students/{world.student_1}/contacts", f"/contacts/{cid}",
                 f"/students/{world.student_1}/week"):  # fmt: skip
        text = visible_text(office.get(path).text).replace(code, "")  # a value, not words
        assert not database_words(text, japanese=locale == "ja", names=names), (path, text)
    if locale == "ja":
        assert "連絡先" in visible_text(office.get(f"/students/{world.student_1}/week").text)
