"""Helpers for page tests: sign in through the form, read a form's CSRF token."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from komawari.audit.service import Actor
from komawari.auth import users
from komawari.auth.enums import Role
from komawari.db.engine import session_scope

PASSWORD = "correct horse battery"


def csrf_of(html: str) -> str:
    """Return the CSRF token of the first form on a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def make_user(
    engine: Engine,
    name: str,
    role: Role,
    *,
    branch_ids: list[int] | None = None,
    teacher_id: int | None = None,
) -> None:
    """Create a user who signs in with PASSWORD."""
    with session_scope(engine) as s:
        users.create(
            s,
            username=name,
            role=role,
            password=PASSWORD,
            branch_ids=branch_ids or [],
            teacher_id=teacher_id,
            actor=Actor("test", "setup"),
        )


def sign_in(client: TestClient, name: str, password: str = PASSWORD, next: str = "/") -> int:
    """Sign in through the form; return the answer's status (303 on success)."""
    form = client.get("/sign-in")
    answer = client.post(
        "/sign-in",
        data={
            "csrf_token": csrf_of(form.text),
            "username": name,
            "password": password,
            "next": next,
        },
        follow_redirects=False,
    )
    return answer.status_code
