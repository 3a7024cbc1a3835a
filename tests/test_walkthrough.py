"""A newcomer's walk-through (`tests/walkthrough.py`, `python3 dev.py walkthrough`): every
command of docs/api.md and docs/operations.md, as written, on a served demo school."""

from __future__ import annotations

import pytest

from tests.walkthrough import DOCS, ROOT, commands, walk

MAX_SKIPPED = 2  # blocks the docs mark as not runnable as written; keep the list short


def test_the_walk_through_reads_every_command_of_the_docs() -> None:
    found = {doc: commands(ROOT, doc) for doc in DOCS}
    api, ops = found["docs/api.md"], found["docs/operations.md"]
    curls = [c for c in api if c.text.startswith("curl ")]
    assert curls, "docs/api.md has curl examples"
    assert all(c.status is not None for c in curls), [c.where() for c in curls if not c.status]
    text = (ROOT / "docs/api.md").read_text()
    assert len(curls) == text.count("curl -s")
    assert sum(c.text.startswith("komawari ") for c in ops) >= 40
    skipped = [c for c in api + ops if c.skip]
    assert len({(c.doc, c.skip) for c in skipped}) <= MAX_SKIPPED, [c.where() for c in skipped]
    assert all(len(c.skip or "") > 20 for c in skipped), "a skip says why"


@pytest.mark.slow
@pytest.mark.ci_suite("local")
def test_a_newcomer_walks_through_the_docs_without_a_traceback_or_a_5xx(
    database_url: str,
) -> None:
    assert (ROOT / ".venv" / "bin" / "komawari").exists(), "the README's set-up: dev.py setup"
    outcomes = walk(ROOT, database_url, quiet=True)
    failed = [o for o in outcomes if o.problems]
    assert not failed, "\n".join(
        f"{o.command.where()}\n  " + "\n  ".join(o.problems) for o in failed
    )
    ran = [o for o in outcomes if not o.skipped]
    assert len(ran) >= 80, len(ran)
