"""Each rule is written in one place under src/komawari (docs/architecture.md, "One
authority per rule"): a second copy would drift from the first."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from komawari.db import guards

SRC = Path(__file__).resolve().parents[1] / "src" / "komawari"
# The migrations are history: they name what they created, as it was then.
MIGRATIONS = SRC / "db" / "migrations"


def _sources() -> dict[Path, str]:
    return {
        path: path.read_text(encoding="utf-8")
        for path in sorted(SRC.rglob("*.py"))
        if MIGRATIONS not in path.parents
    }


def _where(pattern: str) -> list[str]:
    found = re.compile(pattern)
    return [str(p.relative_to(SRC)) for p, text in _sources().items() if found.search(text)]


@pytest.mark.parametrize("guard", [g.name for g in guards.GUARDS])
def test_each_guard_name_is_written_once_beside_its_index(guard: str) -> None:
    assert _where(re.escape(f'"{guard}"')) in (["sessions/models.py"], ["series/models.py"])
    assert len(_where(re.escape(guard))) == 1, _where(re.escape(guard))


def test_the_overlap_of_two_lessons_is_written_once() -> None:
    # SQL: "x.starts_at < y.ends_at AND y.starts_at < x.ends_at", however the aliases read.
    overlap = r"[\w{}]+\.starts_at\s*<=?\s*[\w{}]+\.ends_at\s+AND\s+[\w{}]+\.starts_at"
    assert _where(overlap) == ["db/rules.py"]


def test_what_a_database_refusal_means_is_read_once() -> None:
    assert _where(r"\bdiag\b") == ["db/errors.py"]  # psycopg's error details


def test_no_rule_reads_the_hosts_date() -> None:
    # "Today" is a branch's (scheduling/clock.py, timerules.today_in): the host's date is
    # the server's zone, not the school's. Only clock.py's docstring names it.
    assert _where(r"date\.today\(\)") == ["scheduling/clock.py"]
    assert _where(r"\bdate\.today\b") == ["scheduling/clock.py"]


def test_a_guards_refusal_becomes_an_answer_in_one_helper() -> None:
    # db/errors.guarded: savepoint, change, flush; the guard's refusal becomes the service's
    # answer. guard_switch.py catches a re-created index's own failure, not a refusal.
    assert _where(r"except IntegrityError") == ["db/errors.py", "ops/guard_switch.py"]
