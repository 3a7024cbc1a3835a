"""Benchmark one-off bookings in branch B while a first generation runs in branch A.

    python3 dev.py bench booking_latency --json [--url postgresql://postgres@127.0.0.1:5432/test]
        [--clients 8] [--series 10000] [--idle-seconds 12]

Builds a fresh database: branch A holds the generation benchmark's school (200 teachers,
3,000 students, --series ACTIVE private series, seed 42); branch B has its own teachers,
students and rooms, one of each per client, so the two share no resource. Starts the API
(one uvicorn process, as `komawari serve` runs it). Then N clients book one-off lessons
through `POST /api/class-sessions`, each on its own teacher, student and room and on
distinct slots (none is a duplicate or a conflict): first on an idle database for
--idle-seconds, then for as long as a first generation of branch A runs in another
process (as the scheduled job would). Prints one JSON object with both phases side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from benchmarks import generation_school as school
from benchmarks.api_schedule import machine, start_server
from benchmarks.common import drop_database, fresh_database
from komawari.audit.service import Actor
from komawari.auth import service as auth
from komawari.auth.enums import Role
from komawari.db.engine import normalise_url, session_scope
from komawari.generation import job
from komawari.generation import service as generation
from komawari.generation.enums import RunTrigger

FIRST_DAY = date(2027, 1, 4)
SLOTS_A_DAY = 12  # 08:00, 09:00, ... 19:00, 50 minutes each


def seed(url: str, series: int, clients: int) -> tuple[int, int, str, list[dict[str, int]]]:
    """Fill branches A and B; return their ids, an admin token and each client's resources."""
    engine = create_engine(url)
    school.fixture(engine, series)
    with engine.begin() as conn:
        # Branch A is where the fixture's school lives: every series there.
        conn.execute(text("UPDATE class_series SET branch_id = 1"))
        branch_b = int(
            conn.execute(
                text(
                    "INSERT INTO branches (name, time_zone) VALUES ('B', 'Asia/Tokyo') RETURNING id"
                )
            ).scalar_one()
        )
        people = []
        for i in range(clients):
            teacher = conn.execute(
                text("INSERT INTO teachers (name) VALUES (:n) RETURNING id"), {"n": f"BT{i}"}
            ).scalar_one()
            student = conn.execute(
                text("INSERT INTO students (name) VALUES (:n) RETURNING id"), {"n": f"BS{i}"}
            ).scalar_one()
            room = conn.execute(
                text(
                    "INSERT INTO rooms (branch_id, name, capacity) VALUES (:b, :n, 1) RETURNING id"
                ),
                {"b": branch_b, "n": f"BR{i}"},
            ).scalar_one()
            people.append({"teacher_id": teacher, "student_id": student, "room_id": room})
    with session_scope(engine) as s:
        user, _ = auth.ensure_user(s, username="bench", role=Role.ADMIN, actor=Actor("bench", "b"))
        token = auth.create_token(s, user=user, name="bench", actor=Actor("bench", "b"))[1]
    engine.dispose()
    return 1, branch_b, token, people


def _body(branch_id: int, who: dict[str, int], slot: int) -> dict[str, Any]:
    hour = 8 + slot % SLOTS_A_DAY
    return {
        "branch_id": branch_id,
        **who,
        "date": (FIRST_DAY + timedelta(days=slot // SLOTS_A_DAY)).isoformat(),
        "start_time": f"{hour:02d}:00",
        "end_time": f"{hour:02d}:50",
    }


async def _book(
    base: str,
    headers: dict[str, str],
    branch_id: int,
    people: list[dict[str, int]],
    slots: list[itertools.count[int]],
    until: Any,
) -> dict[str, Any]:
    """Book with one client per resource set until `until()` is true; return the figures."""
    latencies: list[float] = []
    failed: dict[str, int] = {}
    started = time.monotonic()

    async def client(i: int) -> None:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as http:
            while not until():
                body = _body(branch_id, people[i], next(slots[i]))
                t0 = time.monotonic()
                response = await http.post("/api/class-sessions", json=body)
                elapsed = time.monotonic() - t0
                ok = response.status_code // 100 == 2
                if not ok or response.json()["status"] != "CONFIRMED":
                    key = str(response.status_code) + ("" if not ok else " not CONFIRMED")
                    failed[key] = failed.get(key, 0) + 1
                else:
                    latencies.append(elapsed * 1000)

    await asyncio.gather(*(client(i) for i in range(len(people))))
    seconds = time.monotonic() - started
    ms = sorted(latencies)
    pct = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "bookings": len(ms),
        "failed": failed,
        "seconds": round(seconds, 2),
        "per_second": round(len(ms) / seconds, 1),
        "p50_ms": round(pct[49], 1),
        "p90_ms": round(pct[89], 1),
        "p99_ms": round(pct[98], 1),
        "max_ms": round(ms[-1], 1),
    }


def generate(url: str) -> None:
    """Run branch A's first generation (the other process of the benchmark)."""
    engine = create_engine(url)
    scope = generation.Scope(branch_id=1, now=school.NOW, horizon_days=school.HORIZON)
    started = time.monotonic()
    result = job.run(engine, trigger=RunTrigger.SCHEDULE, scope=scope)
    print(json.dumps({"created": result.counts.created, "seconds": time.monotonic() - started}))


async def _phases(
    url: str,
    base: str,
    headers: dict[str, str],
    branch_b: int,
    people: list[dict[str, int]],
    idle: float,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    slots = [itertools.count() for _ in people]
    warm_until = time.monotonic() + 2
    await _book_quiet(base, headers, branch_b, people, slots, warm_until)
    idle_until = time.monotonic() + idle
    idle_result = await _book(
        base, headers, branch_b, people, slots, lambda: time.monotonic() >= idle_until
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.booking_latency", "--generate", url],
        stdout=subprocess.PIPE,
    )
    during = await _book(base, headers, branch_b, people, slots, lambda: proc.poll() is not None)
    out, _ = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit("the generation process failed")
    return idle_result, during, json.loads(out)


async def _book_quiet(
    base: str,
    headers: dict[str, str],
    branch_id: int,
    people: list[dict[str, int]],
    slots: list[itertools.count[int]],
    until: float,
) -> None:
    """Warm the server up (connections, caches) with bookings that are not counted."""
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as http:
        while time.monotonic() < until:
            for i, who in enumerate(people):
                await http.post("/api/class-sessions", json=_body(branch_id, who, next(slots[i])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--idle-seconds", type=float, default=12)
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    parser.add_argument("--generate", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(args.generate)
        return
    server = normalise_url(args.url)
    before = machine()
    url = fresh_database(server, "komawari_bench_booking")
    proc = None
    try:
        _, branch_b, token, people = seed(url, args.series, args.clients)
        proc, base = start_server(url)
        headers = {"Authorization": f"Bearer {token}"}
        idle, during, gen = asyncio.run(
            _phases(url, base, headers, branch_b, people, args.idle_seconds)
        )
        result = {
            "machine": before,
            "clients": args.clients,
            "series": args.series,
            "generation": {"rows": gen["created"], "seconds": round(gen["seconds"], 2)},
            "idle_p50_ms": idle["p50_ms"],
            "idle_p99_ms": idle["p99_ms"],
            "idle_bookings_per_s": idle["per_second"],
            "during_generation_p50_ms": during["p50_ms"],
            "during_generation_p99_ms": during["p99_ms"],
            "during_generation_bookings_per_s": during["per_second"],
            "during_generation_p99_over_idle_p99": round(during["p99_ms"] / idle["p99_ms"], 2),
            "non_2xx": sum(
                n
                for phase in (idle, during)
                for key, n in phase["failed"].items()
                if not key.startswith("2")
            ),
            "idle": idle,
            "during_generation": during,
        }
        print(json.dumps(result, indent=None if args.json else 2))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        drop_database(server, url)


if __name__ == "__main__":
    main()
