"""The clash list of a branch (API and page), the header's count and branch switcher, and
sign-in landing on the user's last branch.

Clashes planted (Sato teaches at both branches):
- `near`: at A, DAY 18:00-19:00 (Aoi) and 18:30-19:30 (Riku, booked later): Sato twice.
- `far`: at A, five weeks on, the same shape: outside the default four weeks.
- `cross`: A's 20:00-21:00 (Mei) and B's 20:30-21:30 booked later (Riku): Sato again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from komawari.auth.enums import Role
from komawari.scheduling import clock
from tests.factories.world import World, bearer, one_off_body
from tests.web.pages import csrf_of, make_user, sign_in

TODAY = clock.branch_today("Asia/Tokyo")
DAY = TODAY + timedelta(days=3)


@dataclass(frozen=True)
class Planted:
    near: tuple[int, int]  # (earlier, later)
    far: tuple[int, int]
    cross: tuple[int, int]


def _book(client: TestClient, world: World, day: date, start: str, end: str, **kw: object) -> int:
    body = one_off_body(world, date=day.isoformat(), start_time=start, end_time=end) | kw
    made = client.post("/api/class-sessions", json=body, headers=bearer(world.admin))
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


@pytest.fixture
def planted(client: TestClient, world: World) -> Planted:
    far = DAY + timedelta(weeks=5)
    pairs = []
    for day in (DAY, far):
        first = _book(client, world, day, "18:00", "19:00")
        later = _book(client, world, day, "18:30", "19:30", student_id=world.student_2)
        pairs.append((first, later))
    a = _book(client, world, DAY, "20:00", "21:00", student_id=world.student_3)
    b = _book(client, world, DAY, "20:30", "21:30", student_id=world.student_2,
              branch_id=world.branch_b)  # fmt: skip
    return Planted(near=pairs[0], far=pairs[1], cross=(a, b))


def _listed(answer: dict[str, object]) -> list[tuple[int | None, int | None]]:
    items = answer["items"]
    assert isinstance(items, list)
    return [(i["earlier"]["session_id"], i["later"]["session_id"]) for i in items]


def test_the_branch_lists_every_clash_of_the_next_four_weeks(
    client: TestClient, world: World, planted: Planted
) -> None:
    answer = client.get(f"/api/branches/{world.branch_a}/clashes", headers=bearer(world.admin))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["from"], body["to"]) == (str(TODAY), str(TODAY + timedelta(days=27)))
    assert _listed(body) == [planted.near, planted.cross]
    first = body["items"][0]
    assert first["shared"] == ["teacher"]
    assert (first["later"]["student_name"], first["earlier"]["student_name"]) == ("Riku", "Aoi")


def test_the_period_is_inclusive_at_both_ends(
    client: TestClient, world: World, planted: Planted
) -> None:
    far = DAY + timedelta(weeks=5)
    url = f"/api/branches/{world.branch_a}/clashes"
    for first, last, expected in (
        (far, far, [planted.far]),
        (far + timedelta(days=1), far + timedelta(days=2), []),
        (far - timedelta(days=2), far - timedelta(days=1), []),
    ):
        answer = client.get(url, params={"from": str(first), "to": str(last)},
                            headers=bearer(world.admin))  # fmt: skip
        assert _listed(answer.json()) == expected, (first, last)


def test_a_clash_that_clears_leaves_the_list(
    client: TestClient, world: World, planted: Planted
) -> None:
    gone = client.post(f"/api/class-sessions/{planted.near[0]}/cancel", json={"reason": "ill"},
                       headers=bearer(world.admin))  # fmt: skip
    assert gone.status_code == 200
    answer = client.get(f"/api/branches/{world.branch_a}/clashes", headers=bearer(world.admin))
    assert _listed(answer.json()) == [planted.cross]


def test_staff_see_the_other_branchs_side_redacted(
    client: TestClient, world: World, planted: Planted
) -> None:
    answer = client.get(f"/api/branches/{world.branch_a}/clashes", headers=bearer(world.staff_a))
    assert answer.status_code == 200, answer.text
    assert _listed(answer.json()) == [planted.near, (planted.cross[0], None)]
    hidden = answer.json()["items"][1]["later"]
    assert hidden["hidden"] is True
    assert (hidden["start_time"], hidden["shared"]) == ("20:30", ["teacher"])
    assert f'"session_id":{planted.cross[1]}' not in answer.text


def test_the_clash_list_as_each_role(client: TestClient, world: World, planted: Planted) -> None:
    b = f"/api/branches/{world.branch_b}/clashes"
    assert client.get(b, headers=bearer(world.staff_a)).status_code == 404
    assert client.get(b, headers=bearer(world.teacher)).status_code == 403
    assert _listed(client.get(b, headers=bearer(world.admin)).json()) == [planted.cross]


@pytest.mark.parametrize(
    ("query", "field"), [({"from": "2027-01-10", "to": "2027-01-09"}, "to"),
                         ({"from": "2027-01-01", "to": "2027-04-04"}, "to"),
                         ({"from": "2027-02-30"}, "from")],
)  # fmt: skip
def test_a_wrong_period_is_refused_by_name(
    client: TestClient, world: World, query: dict[str, str], field: str
) -> None:
    answer = client.get(f"/api/branches/{world.branch_a}/clashes", params=query,
                        headers=bearer(world.admin))  # fmt: skip
    assert answer.status_code == 422, answer.text
    assert field in answer.text


# The pages.


def test_the_clash_page_shows_both_sides_with_the_fixes(
    client: TestClient, world: World, committed_engine: Engine, planted: Planted
) -> None:
    make_user(committed_engine, "clerk", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "clerk") == 303
    page = client.get(f"/branches/{world.branch_a}/clashes")
    assert page.status_code == 200
    assert "2 clashes" in page.text
    for sid in (*planted.near, planted.cross[0]):
        assert f'href="/sessions/{sid}#substitute"' in page.text
    assert f"/sessions/{planted.cross[1]}" not in page.text
    assert "a lesson you cannot see" in page.text
    eight = client.get(f"/branches/{world.branch_a}/clashes", params={"weeks": 8})
    assert "3 clashes" in eight.text
    assert client.get(f"/branches/{world.branch_a}/clashes?weeks=99").status_code == 422


def test_the_header_counts_the_clashes_and_switches_branches(
    client: TestClient, world: World, committed_engine: Engine, planted: Planted
) -> None:
    make_user(committed_engine, "clerk", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "clerk") == 303
    day = client.get(f"/branches/{world.branch_a}/day").text
    link = re.search(r'<a id="clash-link"[^>]*href="([^"]+)">([^<]+)</a>', day)
    assert link is not None
    assert link.group(1) == f"/branches/{world.branch_a}/clashes"
    assert "2 clashes in 4 weeks" in link.group(2)
    assert 'class="switcher"' not in day  # one branch: nothing to switch
    make_user(committed_engine, "owner", Role.ADMIN)
    assert sign_in(client, "owner") == 303
    other = client.get(f"/branches/{world.branch_b}/day").text
    assert 'class="switcher"' in other
    assert f'href="/branches/{world.branch_a}/day"' in other
    assert "1 clash in 4 weeks" in other


def test_sign_in_lands_on_the_last_branch_seen(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    make_user(committed_engine, "owner", Role.ADMIN)
    assert sign_in(client, "owner") == 303
    first = client.get("/", follow_redirects=False)
    assert first.headers["location"] == f"/branches/{world.branch_a}/day"
    assert client.get(f"/branches/{world.branch_b}/day").status_code == 200
    out = client.post("/sign-out", data={"csrf_token": csrf_of(client.get("/sessions/new").text)})
    assert out.status_code in (200, 303)
    assert sign_in(client, "owner") == 303
    again = client.get("/", follow_redirects=False)
    assert again.headers["location"] == f"/branches/{world.branch_b}/day"


def test_the_branch_week_has_a_row_per_teacher_and_a_column_per_day(
    client: TestClient, world: World, committed_engine: Engine, planted: Planted
) -> None:
    make_user(committed_engine, "clerk", Role.STAFF, branch_ids=[world.branch_a])
    assert sign_in(client, "clerk") == 303
    gone = _book(client, world, DAY, "10:00", "11:00", student_id=world.student_3)
    client.post(f"/api/class-sessions/{gone}/cancel", json={"reason": "ill"},
                headers=bearer(world.admin))  # fmt: skip
    page = client.get(f"/branches/{world.branch_a}/week", params={"date": str(DAY)})
    assert page.status_code == 200
    table = page.text.split('id="branch-week"')[1].split("</table>")[0]
    (row,) = re.findall(r"<tr><th scope=\"row\">(.*?)</tr>", table, re.S)  # Sato only
    assert "Sato" in row
    cells = re.findall(r"<td>(.*?)</td>", row, re.S)
    assert len(cells) == 7
    on_day = cells[DAY.weekday()]
    for sid in (planted.near[0], planted.near[1], planted.cross[0]):
        assert f'href="/sessions/{sid}"' in on_day
    assert f"/sessions/{gone}" not in table  # cancelled
    assert f"/sessions/{planted.cross[1]}" not in table  # another branch's
    assert all(
        f"/sessions/{planted.near[0]}" not in c for i, c in enumerate(cells) if i != DAY.weekday()
    )
    assert client.get(f"/branches/{world.branch_b}/week").status_code == 404
