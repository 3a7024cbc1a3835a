"""`komawari credits expire|list|show`: make-up credits from the command line; bad input
is named, exits 2 and changes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import time_machine
from sqlalchemy import Engine, func, select

from komawari.attendance.models import CreditEntry
from komawari.audit.models import AuditEvent
from komawari.db.engine import session_scope
from tests.factories import branches, people
from tests.factories import credits as make

Run = Callable[..., Any]
# 12:00 on 7 December 2026 in Tokyo.
NOON = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
TODAY = date(2026, 12, 7)


def _school(engine: Engine) -> dict[str, int]:
    """Branch 1 (Tokyo): Aoi's credits with 14 and 15 days left, and one whose last day
    was yesterday (not yet expired); branch 2: one of Aoi's with 3 days left."""
    with session_scope(engine) as s:
        one, two = branches.branch(s, name="Shibuya"), branches.branch(s, name="Ueno")
        teacher, aoi = people.teacher(s, name="Sato"), people.student(s, name="Aoi")
        made = {}
        for key, branch, days in (("soon", one, 14), ("later", one, 15), ("past", one, -1),
                                  ("other", two, 3)):  # fmt: skip
            made[key] = make.credit(
                s,
                branch_id=branch.id,
                teacher_id=teacher.id,
                student_id=aoi.id,
                absence=TODAY - timedelta(days=5),
                expires_on=TODAY + timedelta(days=days),
            ).id
        return made | {"branch": one.id, "student": aoi.id}


def _written(engine: Engine) -> tuple[int, int]:
    with session_scope(engine) as s:
        entries = s.scalar(select(func.count()).select_from(CreditEntry)) or 0
        events = s.scalar(select(func.count()).select_from(AuditEvent)) or 0
        return entries, events


def test_expire_expires_what_is_past_once(komawari: Run, committed_engine: Engine) -> None:
    made = _school(committed_engine)
    with time_machine.travel(NOON, tick=False):
        first = komawari("credits", "expire")
        assert first.exit_code == 0, first.output
        assert "expired 1 make-up credit" in first.output
        again = komawari("credits", "expire")
        assert "expired 0 make-up credits" in again.output
        shown = json.loads(komawari("credits", "show", str(made["student"]), "--json").output)
    past = [e["kind"] for e in shown["entries"] if e["credit_id"] == made["past"]]
    assert past == ["issue", "expire"]
    assert shown["balance"] == 3


def test_expire_as_of_a_given_day(komawari: Run, committed_engine: Engine) -> None:
    made = _school(committed_engine)
    with time_machine.travel(NOON, tick=False):
        earlier = komawari("credits", "expire", "--today", "2026-12-06")
        assert "expired 0 make-up credits" in earlier.output, "yesterday was its last day"
        assert komawari("credits", "expire", "--today", "2026-12-07").exit_code == 0
        shown = json.loads(komawari("credits", "show", str(made["student"]), "--json").output)
    assert shown["balance"] == 3


def test_bad_input_is_named_and_changes_nothing(komawari: Run, committed_engine: Engine) -> None:
    made = _school(committed_engine)
    before = _written(committed_engine)
    with time_machine.travel(NOON, tick=False):
        malformed = komawari("credits", "expire", "--today", "2026-13-01")
        assert malformed.exit_code == 2
        assert "--today" in malformed.output
        future = komawari("credits", "expire", "--today", "2027-02-01")
        assert future.exit_code == 2
        assert "has not come yet" in future.output
        unknown = komawari("credits", "list", "--branch", "99")
        assert unknown.exit_code == 2
        assert "branch 99 does not exist" in unknown.output
        negative = komawari("credits", "list", "--branch", "1", "--expiring-within", "-1")
        assert negative.exit_code == 2
        assert "--expiring-within" in negative.output
        nobody = komawari("credits", "show", "99")
        assert nobody.exit_code == 2
        assert "student 99 does not exist" in nobody.output
    assert _written(committed_engine) == before
    assert made["past"]  # still unexpired: nothing ran


def test_list_shows_a_branchs_usable_credits_with_days_left(
    komawari: Run, committed_engine: Engine
) -> None:
    made = _school(committed_engine)
    branch = str(made["branch"])
    with time_machine.travel(NOON, tick=False):
        listed = json.loads(komawari("credits", "list", "--branch", branch, "--json").output)
        within = json.loads(
            komawari(
                "credits", "list", "--branch", branch, "--expiring-within", "14", "--json"
            ).output
        )
        table = komawari("credits", "list", "--branch", branch)
    [aoi] = listed["students"]
    assert (aoi["student_name"], listed["today"]) == ("Aoi", "2026-12-07")
    assert [(c["id"], c["days_left"], c["soon"]) for c in aoi["credits"]] == [
        (made["soon"], 14, True),
        (made["later"], 15, False),
    ]
    assert aoi["balance"] == 3, "the ledger's sum: yesterday's credit is not expired yet"
    assert [c["id"] for c in within["students"][0]["credits"]] == [made["soon"]]
    assert table.exit_code == 0
    assert "expiring soon" in table.output
    assert "2 usable make-up credits" in table.output


def test_show_prints_the_balance_and_the_entries(komawari: Run, committed_engine: Engine) -> None:
    made = _school(committed_engine)
    shown = komawari("credits", "show", str(made["student"]))
    assert shown.exit_code == 0, shown.output
    assert "balance 4" in shown.output
    assert "issue" in shown.output
