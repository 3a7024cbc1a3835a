"""Run mutmut over the pure rules and the policy (pyproject's [tool.mutmut]) in a scratch copy.

mutmut writes its mutants/ folder where it runs, so src/, tests/ and pyproject.toml are
copied to a temporary folder first and the working tree is never touched. Returns killed,
survived (mutant names), not_covered (mutants no selected test runs) and score.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MUTMUT = Path(sys.executable).parent / "mutmut"
# mutmut's states: a timeout also means a test noticed the mutant.
DETECTED = {"killed", "timeout"}


def only_mutate(modules: list[str]) -> str:
    """Return the only_mutate line for modules given as paths under src/komawari."""
    patterns = [
        f"src/komawari/{m.strip('/')}" + ("/*" if not m.endswith(".py") else "") for m in modules
    ]
    return "only_mutate = [" + ", ".join(f'"{p}"' for p in patterns) + "]"


def run(modules: list[str] | None = None, *, children: int = 2) -> dict[str, object]:
    """Run mutmut (over `modules`, else the configured ones) and summarise its results."""
    with tempfile.TemporaryDirectory(prefix="komawari-mutmut-") as tmp:
        work = Path(tmp)
        ignore = shutil.ignore_patterns("__pycache__", ".hypothesis")
        for folder in ("src", "tests"):
            shutil.copytree(ROOT / folder, work / folder, ignore=ignore)
        config = (ROOT / "pyproject.toml").read_text()
        if modules:
            config = re.sub(r"(?m)^only_mutate = .*$", only_mutate(modules), config)
        (work / "pyproject.toml").write_text(config)
        subprocess.run(
            [str(MUTMUT), "run", "--max-children", str(children)],
            cwd=work,
            capture_output=True,
            check=False,
        )
        listed = subprocess.run(
            [str(MUTMUT), "results", "--all", "true"],
            cwd=work,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
    states = {
        name.strip(): state.strip()
        for name, state in (line.rsplit(":", 1) for line in listed.splitlines() if ":" in line)
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
