"""Every page of the demo school, in English and in Japanese, speaks a person's words:
no snake_case codes, no bare "lesson 271", no "web-session" or "run:" actors, no guard
names outside the admin's small print, and on Japanese pages no English word outside
names and the glossary's kept words."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select, update

from komawari.auth import accounts
from komawari.auth.enums import Role
from komawari.auth.models import User, UserBranch
from komawari.branches.models import Branch
from komawari.db.engine import session_scope
from komawari.ops import demo
from komawari.people.models import Room, Student, Teacher
from komawari.series.models import ClassSeries
from komawari.sessions.models import ClassSession
from komawari.web.cli import DEMO_PASSWORD, DEMO_USER, demo_sign_in
from tests.factories.world import SETUP, World
from tests.web.pages import make_user, sign_in
from tests.web.visible_text import database_words, visible_text

School = tuple[TestClient, list[str], set[str]]  # a signed-in client, its pages, the names


@pytest.fixture
def school(committed_engine: Engine, app: FastAPI) -> Iterator[School]:
    with session_scope(committed_engine) as s:
        demo.create(s)
    demo_sign_in(committed_engine)
    with session_scope(committed_engine) as s:
        branch = s.scalars(select(Branch.id).order_by(Branch.id)).first()
        series = s.scalars(select(ClassSeries.id).order_by(ClassSeries.id)).first()
        lesson = s.scalars(select(ClassSession.id).order_by(ClassSession.id)).first()
        busy_day = s.scalars(
            select(ClassSession.date).where(ClassSession.branch_id == branch).order_by(
                ClassSession.date.desc())
        ).first()  # fmt: skip
        teacher = s.scalars(select(Teacher.id).order_by(Teacher.id)).first()
        student = s.scalars(select(Student.id).order_by(Student.id)).first()
        user = s.scalars(select(User.id).where(User.username == DEMO_USER)).one()
        names: set[str] = {DEMO_USER}
        for model in (Branch, Teacher, Student, Room):
            for name in s.scalars(select(model.name)):
                names.update(name.replace("(", " ").replace(")", " ").split())
        for title in s.scalars(select(ClassSeries.title).where(ClassSeries.title.is_not(None))):
            names.update(str(title).split())
    pages = [
        f"/branches/{branch}/day", f"/branches/{branch}/week", f"/branches/{branch}/clashes",
        f"/branches/{branch}/closures", f"/branches/{branch}/periods",
        f"/branches/{branch}/closures?date={busy_day}", f"/branches/{branch}/closures?holidays=on",
        f"/branches/{branch}/day?print=1",
        f"/branches/{branch}/credits", f"/branches/{branch}/reports",
        f"/teachers/{teacher}/week", f"/students/{student}/week",
        "/series", f"/series/{series}", "/series/new", f"/series/{series}/pause",
        f"/series/{series}/end", f"/series/{series}/extend", f"/series/{series}/change-from",
        "/sessions/new", f"/sessions/{lesson}", "/teachers", "/students", "/rooms",
        "/search?q=Sa", "/operator", "/users", f"/users/{user}", "/me",
        "/sessions/999999999", f"/branches/{branch}/day?date=not-a-date",
    ]  # fmt: skip
    with TestClient(app) as client:
        assert sign_in(client, DEMO_USER, DEMO_PASSWORD) == 303
        yield client, pages, names


@pytest.mark.parametrize("locale", ["en", "ja"])
def test_every_page_speaks_a_persons_words(
    school: School, committed_engine: Engine, locale: str
) -> None:
    client, pages, names = school
    with session_scope(committed_engine) as s:
        s.execute(update(User).where(User.username == DEMO_USER).values(locale=locale))
    found: dict[str, list[str]] = {}
    for path in pages:
        answer = client.get(path)
        assert answer.status_code in (200, 404, 422), (path, answer.status_code)
        words = database_words(visible_text(answer.text), japanese=locale == "ja", names=names)
        title = re.search(r"<title>(.*?)</title>", answer.text, re.S)
        if title is None or "<" in title[1]:  # a tab's words are read too
            words.append(f"title: {title[1][:80] if title else None!r}")
        if words:
            found[path] = sorted(set(words))
    assert not found, "\n".join(f"{p}: {w}" for p, w in found.items())


@pytest.mark.parametrize("locale", ["en", "ja"])
def test_a_teachers_and_a_branchless_users_pages_speak_a_persons_words(
    app: FastAPI, world: World, committed_engine: Engine, locale: str
) -> None:
    make_user(committed_engine, "sensei", Role.TEACHER, teacher_id=world.teacher_1)
    make_user(committed_engine, "nowhere", Role.STAFF, branch_ids=[world.branch_b])
    with session_scope(committed_engine) as s:
        nowhere = select(User.id).where(User.username == "nowhere").scalar_subquery()
        s.execute(delete(UserBranch).where(UserBranch.user_id == nowhere))
        s.execute(update(User).values(locale=locale))
        names = {"sensei", "nowhere"}
        for model in (Branch, Teacher, Student, Room):
            for name in s.scalars(select(model.name)):
                names.update(name.split())
    for name, path in (("sensei", f"/teachers/{world.teacher_1}/week"), ("nowhere", "/")):
        with TestClient(app) as browser:
            assert sign_in(browser, name) == 303
            answer = browser.get(path)
            assert answer.status_code == 200, (name, answer.status_code)
            text = visible_text(answer.text)
            assert not database_words(text, japanese=locale == "ja", names=names), text


def test_the_signed_out_pages_speak_a_persons_words(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    with session_scope(committed_engine) as s:
        link = accounts.create(
            s, username="newcomer", role=Role.STAFF, branch_ids=[world.branch_a],
            teacher_id=None, actor=SETUP,
        ).path  # fmt: skip
    for locale in ("en", "ja"):
        for path in ("/sign-in", link, "/password/kpw_not-a-link", "/no-such-page"):
            answer = client.get(path, headers={"Accept-Language": locale})
            text = visible_text(answer.text)
            found = database_words(text, japanese=locale == "ja", names={"newcomer"})
            assert not found, (path, text)
            assert "/docs" not in text
