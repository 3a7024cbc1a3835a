"""`python3 dev.py mutants`: the SQL mutant table and mutmut's run, as one JSON object.

python -m tests.mutation.report [--sql | --python] [--module PATH ... | --ci] [--json]
                                [--keep DIR]

PATH is under src/komawari (`scheduling/conflict_rule.py`, `generation/`). --ci: mutmut
over the conflict rule and the policy only, with their pure tests (CI's short form). Exits 1 when a
SQL mutant survives or cannot be tested, or mutmut's score is under PYTHON_TARGET.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tests.mutation import run_python, run_sql

PYTHON_TARGET = 0.9


def main(argv: list[str]) -> int:
    """Run the chosen parts, print the JSON object, exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(prog="dev.py mutants", description=__doc__)
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--sql", action="store_true", help="only the SQL mutant table")
    only.add_argument("--python", action="store_true", help="only mutmut's run")
    parser.add_argument("--module", action="append", default=[], help="a path under src/komawari")
    parser.add_argument("--ci", action="store_true", help="mutmut over CI's small set only")
    parser.add_argument("--json", action="store_true", help="no progress lines on stderr")
    parser.add_argument(
        "--keep", type=Path, help="run mutmut in DIR and keep it (then `mutmut show NAME` there)"
    )
    args = parser.parse_args(argv)
    report: dict[str, dict[str, object]] = {}
    if not args.sql:
        if args.ci:
            report["python"] = run_python.run(
                run_python.CI_MODULES, tests=run_python.CI_TESTS, workdir=args.keep
            )
        else:
            report["python"] = run_python.run(args.module or None, workdir=args.keep)
    if not args.python:
        report["sql"] = run_sql.run(args.module or None, verbose=not args.json)
    print(json.dumps(report, indent=None if args.json else 2))
    sql, python = report.get("sql", {}), report.get("python", {})
    failed = bool(sql.get("survived") or sql.get("errors") or "error" in sql)
    score = python.get("score")
    failed |= isinstance(score, float) and score < PYTHON_TARGET
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
