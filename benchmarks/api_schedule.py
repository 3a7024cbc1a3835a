"""Benchmark GET /api/branches/{id}/schedule?date= (600 sessions that day) beside /healthz.

    .venv/bin/python -m benchmarks.api_schedule [--url postgresql://postgres@127.0.0.1:5432/test]
        [--clients 16] [--seconds 20] [--write-docs]

Builds a fresh database on the server of --url, fills one branch with 600 sessions a day
for four weeks (60 teachers x 10 lessons, 30 of them double-booked students, so CONFLICTED
with what they conflict with) beside a second, smaller branch; starts `uvicorn` on the
application (one process, as `komawari serve` runs it) on a free loopback port; then
drives each endpoint with N concurrent keep-alive clients for a fixed time and prints the
latency percentiles as JSON. With --write-docs it replaces its own section of
docs/benchmarks.md (and only that section). Not a timed test: figures depend on the
machine, which is recorded with them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from benchmarks.common import drop_database, fresh_database
from komawari.audit.service import Actor
from komawari.auth import service as auth
from komawari.auth.enums import Role
from komawari.db.engine import normalise_url
from komawari.sessions import reevaluate

DAY = date(2026, 12, 3)
DAYS = 28
ROOT = Path(__file__).resolve().parents[1]
HEADING = "## API: the branch-day schedule (`benchmarks/api_schedule.py`)"

SEED_SQL = """
INSERT INTO class_sessions (branch_id, time_zone, kind, date, start_time, end_time,
                            teacher_id, student_id, room_id)
SELECT :branch, 'Asia/Tokyo', 'PRIVATE', d::date,
       time '09:00' + make_interval(mins => k * 70),
       time '10:00' + make_interval(mins => k * 70),
       :t0 + t,
       -- the last lesson of teachers 30..59 takes a student of teachers 0..29: conflicts
       :s0 + CASE WHEN k = 9 AND t >= :teachers / 2 THEN (t - :teachers / 2) * 10 + 9
                  ELSE t * 10 + k END,
       CAST(:r0 AS bigint) + t
  FROM generate_series(CAST(:first AS date), CAST(:first AS date) + :days - 1, '1 day') d,
       generate_series(0, :teachers - 1) t, generate_series(0, 9) k
 ORDER BY d, t, k
"""


def _ids(s: Session, sql: str, params: dict[str, Any]) -> int:
    ids = sorted(int(i) for i in s.execute(text(sql), params).scalars())
    assert ids == list(range(ids[0], ids[0] + len(ids))), "ids of one insert are contiguous"
    return ids[0]


def seed(url: str) -> tuple[int, str, dict[str, int]]:
    """Fill the database; return the big branch's id, an admin token and the row counts."""
    engine = create_engine(url)
    with Session(engine) as s, s.begin():
        big, small = (
            _ids(
                s,
                "INSERT INTO branches (name, time_zone) VALUES (:n, 'Asia/Tokyo') RETURNING id",
                {"n": n},
            )
            for n in ("Shibuya", "Yokohama")
        )
        t0 = _ids(
            s,
            "INSERT INTO teachers (name) SELECT 'Teacher ' || i FROM"
            " generate_series(1, 70) i RETURNING id",
            {},
        )
        s0 = _ids(
            s,
            "INSERT INTO students (name) SELECT 'Student ' || i FROM"
            " generate_series(1, 700) i RETURNING id",
            {},
        )
        r0 = _ids(
            s,
            "INSERT INTO rooms (branch_id, name, capacity) SELECT :b, 'Room ' || i, 2"
            " FROM generate_series(1, 60) i RETURNING id",
            {"b": big},
        )
        common = {"first": DAY, "days": DAYS}
        s.execute(
            text(SEED_SQL), {**common, "branch": big, "t0": t0, "s0": s0, "r0": r0, "teachers": 60}
        )
        s.execute(
            text(SEED_SQL),
            {**common, "branch": small, "t0": t0 + 60, "s0": s0 + 600, "r0": None, "teachers": 10},
        )
        reevaluate.evaluate_all(s)
        user, _ = auth.ensure_user(s, username="bench", role=Role.ADMIN, actor=Actor("bench", "b"))
        token = auth.create_token(s, user=user, name="bench", actor=Actor("bench", "b"))[1]
        counts = {
            str(k): int(v)
            for k, v in s.execute(
                text(
                    "SELECT status, count(*) FROM class_sessions"
                    " WHERE branch_id = :b AND date = :d GROUP BY status"
                ),
                {"b": big, "d": DAY},
            )
        }
        counts["all_rows"] = int(
            s.execute(text("SELECT count(*) FROM class_sessions")).scalar_one()
        )
    engine.dispose()
    return big, token, counts


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start uvicorn on the application in its own process; return it and its base URL."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "KOMAWARI_GENERATION_INTERVAL_MINUTES": "0"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "komawari.web.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not become ready")


async def _load(
    base: str, path: str, headers: dict[str, str], clients: int, seconds: float, warmup: float
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    started = time.monotonic()
    stop = started + warmup + seconds

    async def worker() -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
            while (now := time.monotonic()) < stop:
                response = await client.get(path)
                elapsed = time.monotonic() - now
                if response.status_code != 200:
                    errors += 1
                elif now >= started + warmup:
                    latencies.append(elapsed)

    await asyncio.gather(*(worker() for _ in range(clients)))
    ms = sorted(x * 1000 for x in latencies)
    pct = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "path": path,
        "requests": len(ms),
        "errors": errors,
        "throughput_rps": round(len(ms) / seconds, 1),
        "p50_ms": round(pct[49], 2),
        "p90_ms": round(pct[89], 2),
        "p99_ms": round(pct[98], 2),
        "max_ms": round(ms[-1], 2),
    }


def machine() -> dict[str, Any]:
    """Describe the machine the figures come from."""
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "date": datetime.now(UTC).date().isoformat(),
        "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def _row(label: str, r: dict[str, Any]) -> str:
    return (
        f"| `GET {label}` | {r['requests']} | {r['p50_ms']} ms | {r['p90_ms']} ms "
        f"| {r['p99_ms']} ms | {r['max_ms']} ms | {r['throughput_rps']}/s |"
    )


def write_docs(result: dict[str, Any]) -> None:
    """Replace (or add) this benchmark's own section of docs/benchmarks.md."""
    path = ROOT / "docs" / "benchmarks.md"
    m, day, alone = result["machine"], result["day"], result["schedule_one_client"]
    sessions = day.get("CONFIRMED", 0) + day.get("CONFLICTED", 0) + day.get("CANCELLED", 0)
    lines = [
        HEADING,
        "",
        f"Measured {m['date']} on {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, "
        f"{result['postgres']}, load average {m['loadavg']} before the run; the server, the "
        "clients and PostgreSQL share the machine and talk over loopback.",
        f"One uvicorn process (as `komawari serve` runs it), {result['clients']} concurrent "
        f"keep-alive clients, {result['seconds']:g} s per endpoint after a "
        f"{result['warmup']:g} s warm-up. The branch has {sessions} sessions that day "
        f"({day.get('CONFLICTED', 0)} CONFLICTED, each naming what it conflicts with) among "
        f"{day['all_rows']:,} session rows; the answer is {result['response_bytes']:,} bytes.",
        "",
        "| endpoint | requests | p50 | p90 | p99 | max | throughput |",
        "|---|---|---|---|---|---|---|",
        _row("/api/branches/{id}/schedule?date=", result["schedule"]),
        _row("/healthz", result["healthz"]),
        "",
        f"For scale, the schedule with one client at a time: p50 {alone['p50_ms']} ms, "
        f"p99 {alone['p99_ms']} ms ({alone['throughput_rps']}/s). Under {result['clients']} "
        f"clients its p50 is {result['schedule']['p50_ms'] / alone['p50_ms']:.1f} times that: "
        "one Python process (one GIL) builds and serialises the answers, so the rest is waiting.",
        "",
        "Run it again with `.venv/bin/python -m benchmarks.api_schedule --write-docs`.",
        "",
    ]
    section = "\n".join(lines)
    text_ = path.read_text() if path.exists() else "# Benchmarks\n"
    if HEADING in text_:
        before, rest = text_.split(HEADING, 1)
        after = rest.split("\n## ", 1)
        text_ = before + section + ("\n## " + after[1] if len(after) > 1 else "")
    else:
        text_ = text_.rstrip("\n") + "\n\n" + section
    path.write_text(text_)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    server = normalise_url(args.url)
    before = machine()  # the load average before this benchmark adds its own
    url = fresh_database(server, "komawari_bench_api")
    proc = None
    try:
        branch_id, token, day = seed(url)
        with create_engine(url).connect() as conn:
            postgres = str(conn.execute(text("SHOW server_version")).scalar_one())
        proc, base = start_server(url)
        headers = {"Authorization": f"Bearer {token}"}
        path = f"/api/branches/{branch_id}/schedule?date={DAY.isoformat()}"
        check = httpx.get(base + path, headers=headers, timeout=30).json()
        assert check["counts"]["total"] == 600, check["counts"]
        alone = asyncio.run(_load(base, path, headers, 1, args.seconds / 4, args.warmup))
        schedule = asyncio.run(_load(base, path, headers, args.clients, args.seconds, args.warmup))
        health = asyncio.run(_load(base, "/healthz", {}, args.clients, args.seconds, args.warmup))
        result = {
            "machine": before,
            "postgres": f"PostgreSQL {postgres}",
            "clients": args.clients,
            "seconds": args.seconds,
            "warmup": args.warmup,
            "branch_id": branch_id,
            "day": day,
            "response_bytes": len(json.dumps(check)),
            "schedule_one_client": alone,
            "schedule": schedule,
            "healthz": health,
        }
        print(json.dumps(result, indent=2))
        if args.write_docs:
            write_docs(result)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        if not args.keep:
            drop_database(server, url)


if __name__ == "__main__":
    main()
