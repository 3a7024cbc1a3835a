"""Run mutmut (pyproject's [tool.mutmut]) over the rules and decisions, in a scratch copy.

mutmut writes its mutants/ folder where it runs, so src/, tests/, examples/ and
pyproject.toml are copied to a scratch folder first and the working tree is never touched.
Only the mutants of DECISIONS are run and counted. Returns killed, survived (mutant
names), not_covered (mutants no selected test runs) and score.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from komawari.db import migrate
from komawari.db.engine import normalise_url

ROOT = Path(__file__).resolve().parents[2]
MUTMUT = Path(sys.executable).parent / "mutmut"
# mutmut's states: a timeout also means a test noticed the mutant.
DETECTED = {"killed", "timeout"}
# The mutants that are run and counted (mutmut's names: module, then x_ and the function,
# or xǁClassǁ and the method). The rules and the policy whole; of the other modules the
# functions that decide: which copy of a duplicate is kept, what an import loads, where a
# one-off lands, which rows are refused, a series' or a person's status, what is
# re-evaluated. Left out: the label text of the dedupe report (_describe), the COPY and
# staging plumbing of the import (_copy, _scalar, _load: its SQL is in the SQL table),
# renaming people and reading them by kind (status.get, status.rename).
DECISIONS = (
    "komawari.scheduling.*",
    "komawari.auth.policy.*",
    "komawari.ops.dedupe.x__step_aside__mutmut_*",
    "komawari.ops.dedupe.x__group__mutmut_*",
    "komawari.ops.dedupe.x_repair__mutmut_*",
    "komawari.ops.dedupe.x_run__mutmut_*",
    "komawari.ops.dedupe.xǁDedupeResultǁ*",
    "komawari.ops.legacy_text.*",
    "komawari.ops.legacy_csv.*",
    "komawari.ops.legacy_import.x__place_sessions__mutmut_*",
    "komawari.ops.legacy_import.x_run__mutmut_*",
    "komawari.series.lifecycle.*",
    "komawari.sessions.reevaluate.*",
    "komawari.people.status.x__bookable__mutmut_*",
    "komawari.people.status.x_check_bookable__mutmut_*",
    "komawari.people.status.x__live_series__mutmut_*",
    "komawari.people.status.x_deactivate__mutmut_*",
)
# CI's short form (`dev.py mutants --ci`): the conflict rule and the policy, with their
# pure tests only, a couple of minutes; the full run over DECISIONS stays a dev task.
CI_MODULES = ["scheduling/conflict_rule.py", "auth/policy.py"]
CI_TESTS = [
    "tests/scheduling/test_conflict_rule.py",
    "tests/auth/test_policy.py",
    "tests/auth/test_policy_refusals.py",
    "tests/auth/test_policy_session_reads.py",
    "tests/auth/test_roll_policy.py",
    "tests/notices/test_contact_policy.py",
]
# Mutmut's tests need PostgreSQL (each run makes its own database on this server).
LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def only_mutate(modules: list[str]) -> str:
    """Return the only_mutate line for modules given as paths under src/komawari."""
    patterns = [
        f"src/komawari/{m.strip('/')}" + ("/*" if not m.endswith(".py") else "") for m in modules
    ]
    return _toml_list("only_mutate", patterns)


def selected(modules: list[str] | None) -> list[str]:
    """Return the mutant names to run: DECISIONS, or every mutant of `modules`."""
    if not modules:
        return list(DECISIONS)
    dotted = (m.strip("/").removesuffix(".py").replace("/", ".") for m in modules)
    return [f"komawari.{d}.*" for d in dotted]


def run(
    modules: list[str] | None = None,
    *,
    tests: list[str] | None = None,
    children: int = 2,
    workdir: Path | None = None,
) -> dict[str, object]:
    """Run mutmut (over `modules`, else DECISIONS; with `tests`, else the configured ones).

    With `workdir` the scratch copy is made there and kept (`mutmut show NAME` in it).
    """
    if workdir is not None:
        return _run_in(workdir, modules, tests, children)
    with tempfile.TemporaryDirectory(prefix="komawari-mutmut-") as tmp:
        return _run_in(Path(tmp), modules, tests, children)


def _toml_list(key: str, values: list[str]) -> str:
    return f"{key} = [" + ", ".join(f'"{v}"' for v in values) + "]"


@contextmanager
def database_pool(server: str, size: int) -> Iterator[list[str]]:
    """Make `size` migrated databases on `server` (one migrated, the rest copies); drop them."""
    base = normalise_url(server)
    names = [f"komawari_mutants_{os.getpid()}_{i}" for i in range(size)]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    urls = [make_url(base).set(database=n).render_as_string(hide_password=False) for n in names]
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{names[0]}"'))
        first = create_engine(urls[0])
        migrate.upgrade(first)
        first.dispose()
        with admin.connect() as conn:
            for name in names[1:]:
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{names[0]}"'))
        yield urls
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _run_in(
    work: Path, modules: list[str] | None, tests: list[str] | None, children: int
) -> dict[str, object]:
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis")
    for folder in ("src", "tests", "examples", "mutants"):
        shutil.rmtree(work / folder, ignore_errors=True)
    for folder in ("src", "tests", "examples"):
        shutil.copytree(ROOT / folder, work / folder, ignore=ignore)
    config = (ROOT / "pyproject.toml").read_text()
    if modules:
        config = re.sub(r"(?ms)^only_mutate = \[.*?\]$", only_mutate(modules), config)
    if tests:
        selection = _toml_list("pytest_add_cli_args_test_selection", tests)
        config = re.sub(r"(?ms)^pytest_add_cli_args_test_selection = \[.*?\]$", selection, config)
    (work / "pyproject.toml").write_text(config)
    names = selected(modules)
    mutmut = [str(MUTMUT), "run", "--max-children", str(children), *names]
    server = os.environ.get("KOMAWARI_TEST_DATABASE_URL", LOCAL_SERVER)
    # The fork server and each child may each hold one: children + 2 are always enough.
    with database_pool(server, children + 2) as urls:
        locks = work / "database-locks"
        locks.mkdir(exist_ok=True)
        env = {
            **os.environ,
            "KOMAWARI_TEST_DATABASE_URL": server,
            "KOMAWARI_MUTANTS_DATABASES": " ".join(urls),
            "KOMAWARI_MUTANTS_LOCKS": str(locks),
        }
        subprocess.run(mutmut, cwd=work, env=env, capture_output=True, check=False)
    listed = subprocess.run(
        [str(MUTMUT), "results", "--all", "true"],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return summarise(listed, names)


def summarise(listed: str, names: list[str]) -> dict[str, object]:
    """Count the states of mutmut's results for the mutants matching `names`."""
    states = {
        name.strip(): state.strip()
        for name, state in (line.rsplit(":", 1) for line in listed.splitlines() if ":" in line)
        if any(fnmatch.fnmatchcase(name.strip(), n) for n in names)
    }
    killed = sum(1 for s in states.values() if s in DETECTED)
    return {
        "killed": killed,
        "survived": sorted(n for n, s in states.items() if s == "survived"),
        "not_covered": sorted(n for n, s in states.items() if s == "no tests"),
        "other": sorted(
            f"{n}: {s}" for n, s in states.items() if s not in DETECTED | {"survived", "no tests"}
        ),
        "score": round(killed / len(states), 3) if states else None,
    }
