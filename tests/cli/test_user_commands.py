"""`komawari user disable` and `user revoke-branch` act at once on the user's tokens."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

from komawari.auth import service as auth
from komawari.db.engine import session_scope
from komawari.errors import Unauthorized

Run = Callable[..., Any]


def _token(komawari: Run, *args: str) -> str:
    made = komawari("token", "create", *args)
    assert made.exit_code == 0, made.output
    found = re.findall(r"kmw_[\w-]{20,}", made.output)
    assert found, made.output
    return str(found[0])


def test_disabling_a_user_from_the_command_line_ends_their_token_at_once(
    komawari: Run, committed_engine: Engine
) -> None:
    token = _token(komawari, "--user", "aoki", "--role", "admin")
    with session_scope(committed_engine) as s:
        assert auth.authenticate(s, token).role == "admin"
    done = komawari("user", "disable", "aoki")
    assert done.exit_code == 0, done.output
    with session_scope(committed_engine) as s, pytest.raises(Unauthorized):
        auth.authenticate(s, token)
    unknown = komawari("user", "disable", "nobody")
    assert unknown.exit_code == 2
    assert "nobody" in unknown.output


def test_revoking_a_branch_from_the_command_line_takes_it_from_the_token(
    komawari: Run, committed_engine: Engine
) -> None:
    assert komawari("branch", "add", "Shibuya").exit_code == 0
    assert komawari("branch", "add", "Ueno").exit_code == 0
    token = _token(komawari, "--user", "kato", "--role", "staff", "--branch", "1", "--branch", "2")
    done = komawari("user", "revoke-branch", "kato", "--branch", "2")
    assert done.exit_code == 0, done.output
    with session_scope(committed_engine) as s:
        assert auth.authenticate(s, token).branch_ids == frozenset({1})
