"""A branch in another zone than the school's says so once, in the page's header."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from komawari.auth.enums import Role
from komawari.branches import service as branches
from komawari.db.engine import session_scope
from tests.factories.world import SETUP, World
from tests.web.pages import make_user, sign_in


def test_the_header_names_the_zone_only_when_it_is_not_the_schools(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    with session_scope(committed_engine) as s:
        ny = branches.create(s, name="Manhattan", time_zone="America/New_York", actor=SETUP).id
    make_user(committed_engine, "boss", Role.ADMIN)
    assert sign_in(client, "boss") == 303
    there = client.get(f"/branches/{ny}/day", headers={"Accept-Language": "en"}).text
    assert there.count("Times in America/New_York") == 1
    home = client.get(f"/branches/{world.branch_a}/day", headers={"Accept-Language": "en"}).text
    assert 'id="page-zone"' not in home
