"""Benchmark the day page of a branch with 600 lessons beside the JSON schedule of that day.

    python3 dev.py bench pages [--url postgresql://postgres@127.0.0.1:5432/test]
        [--requests 200] [--json]

Seeds the database of `benchmarks/api_schedule.py` (600 lessons on the day, 30 of them
CONFLICTED), starts the application in its own process, signs a user in, then asks, one
client at a time and interleaved (so both meet the same machine), for
`GET /branches/{id}/day?date=` (the page) and `GET /api/branches/{id}/schedule?date=`
(the JSON). Prints the latency percentiles and `page_p50_over_json_p50` (target: at most
2). Not a timed test: figures depend on the machine, which is recorded with them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import httpx
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from benchmarks.api_schedule import DAY, machine, seed, start_server
from benchmarks.common import drop_database, fresh_database
from komawari.audit.service import Actor
from komawari.auth import users, web_sessions
from komawari.auth.enums import Role
from komawari.db.engine import normalise_url

PASSWORD = "bench-password"


def _cookie(url: str) -> str:
    """Create a staff user of every branch and open a web session; return its cookie."""
    engine = create_engine(url)
    with Session(engine) as s, s.begin():
        users.create(
            s, username="page-bench", role=Role.ADMIN, password=PASSWORD, branch_ids=[],
            teacher_id=None, actor=Actor("bench", "pages"),
        )  # fmt: skip
    # sign_in commits its counted try itself, as on the sign-in page: no s.begin() block.
    with Session(engine) as s:
        opened = web_sessions.sign_in(s, username="page-bench", password=PASSWORD, address="-")
        assert opened is not None
        s.commit()
        secret = opened[1]
    engine.dispose()
    return secret


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {
        "requests": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p90_ms": pick(0.9),
        "p99_ms": pick(0.99),
    }


def run(url: str, requests: int) -> dict[str, Any]:
    """Seed, serve, and measure the page and the JSON side by side."""
    branch, token, counts = seed(url)
    cookie = _cookie(url)
    proc, base = start_server(url)
    page_path = f"/branches/{branch}/day?date={DAY}"
    json_path = f"/api/branches/{branch}/schedule?date={DAY}"
    timings: dict[str, list[float]] = {"page": [], "json": []}
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            client.cookies.set("komawari_session", cookie)
            headers = {"Authorization": f"Bearer {token}"}
            for _ in range(10):  # warm up both
                client.get(page_path).raise_for_status()
                client.get(json_path, headers=headers).raise_for_status()
            size = len(client.get(page_path).content)
            for _ in range(requests):
                for label, path, extra in (("page", page_path, {}), ("json", json_path, headers)):
                    started = time.perf_counter()
                    answer = client.get(path, headers=extra)
                    timings[label].append(time.perf_counter() - started)
                    answer.raise_for_status()
    finally:
        proc.terminate()
        proc.wait(30)
    page, data = _stats(timings["page"]), _stats(timings["json"])
    return {
        "day_lessons": counts,
        "page": page | {"bytes": size},
        "json": data,
        "page_p50_over_json_p50": round(page["p50_ms"] / data["p50_ms"], 2),
        "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    args = parser.parse_args()
    server = normalise_url(args.url)
    url = fresh_database(server, "komawari_bench_pages")
    try:
        result = run(url, args.requests)
    finally:
        drop_database(server, url)
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
