"""Run the SQL mutant table: each mutant on a scratch copy of src/, its tests against it.

The working tree is never written: src/ is copied once to a temporary folder, each mutant
is written into the copy, pytest runs with that copy first on PYTHONPATH (so `komawari` is
imported from it) and the file is restored before the next mutant. A mutant is killed
when its tests fail (pytest exit 1); its tests are first run once without any mutant.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.mutation.sql_mutants import MUTANTS, Mutant

ROOT = Path(__file__).resolve().parents[2]
PYTEST = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "--no-header"]


def apply(source: str, mutant: Mutant) -> str:
    """Return `source` with the mutant's edits; each original must occur exactly once."""
    for original, replacement in mutant.edits:
        found = source.count(original)
        if found != 1:
            raise ValueError(f"{mutant.name}: {original!r} occurs {found} times in {mutant.file}")
        source = source.replace(original, replacement)
    return source


def run_tests(scratch: Path, tests: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    """Run `tests` importing komawari from `scratch`."""
    env = {**os.environ, "PYTHONPATH": str(scratch), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [*PYTEST, *tests], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


def chosen(modules: list[str] | None) -> list[Mutant]:
    """Return the mutants of files under `modules` (paths under src/komawari), else all."""
    if not modules:
        return list(MUTANTS)
    return [mt for mt in MUTANTS if any(mt.file.startswith(m.strip("/")) for m in modules)]


def run(
    modules: list[str] | None = None, *, verbose: bool = False, jobs: int = 2
) -> dict[str, object]:
    """Apply each chosen mutant in a scratch copy (one per job) and run its tests; summarise."""
    mutants = chosen(modules)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="komawari-mutants-") as tmp:
        copies: queue.Queue[Path] = queue.Queue()
        for i in range(jobs):
            scratch = Path(tmp) / f"job{i}" / "src"
            shutil.copytree(ROOT / "src", scratch, ignore=shutil.ignore_patterns("__pycache__"))
            copies.put(scratch)
        clean = run_tests(
            Path(tmp) / "job0" / "src", tuple(sorted({t for mt in mutants for t in mt.tests}))
        )
        if mutants and clean.returncode != 0:
            print(clean.stdout[-3000:], file=sys.stderr)
            return {"error": "the mutants' tests fail without any mutant"}

        def one(mt: Mutant) -> int:
            scratch = copies.get()
            path = scratch / "komawari" / mt.file
            original = path.read_text()
            try:
                path.write_text(apply(original, mt))
                code = run_tests(scratch, mt.tests).returncode
            finally:
                path.write_text(original)
                copies.put(scratch)
            if verbose:
                state = {0: "SURVIVED", 1: "killed"}.get(code, f"error {code}")
                print(f"{state:>9}  {mt.name}", file=sys.stderr, flush=True)
            return code

        with ThreadPoolExecutor(jobs) as pool:
            codes = list(pool.map(one, mutants))
    # 1: a test failed. 0: all passed. Anything else: the tests could not run.
    return {
        "killed": codes.count(1),
        "survived": [mt.name for mt, c in zip(mutants, codes, strict=True) if c == 0],
        "errors": [mt.name for mt, c in zip(mutants, codes, strict=True) if c not in (0, 1)],
        "score": round(codes.count(1) / len(mutants), 3) if mutants else None,
        "seconds": round(time.monotonic() - started, 1),
    }
