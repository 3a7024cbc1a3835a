"""Benchmark GET /api/branches/{id}/schedule?date= (600 sessions that day) under load.

    python3 dev.py bench api_schedule --json [--url postgresql://postgres@127.0.0.1:5432/test]
        [--clients 16] [--seconds 20] [--scale 5000000 [--keep]]

Builds a fresh database on the server of --url, fills one branch with 600 sessions a day
for four weeks (60 teachers x 10 lessons, 30 of them double-booked students, so CONFLICTED
with what they conflict with) beside a second, smaller branch; starts `komawari serve` on
it (its default worker count) on a free loopback port; then, side by side in one run,
drives with N concurrent keep-alive clients: the schedule, its revalidation
(`If-None-Match`: 304), `/healthz`, and the same JSON built by PostgreSQL alone through
psycopg on N connections (the physical limit). With --scale it also reads the same day
with one client from a database of that many session rows (200 branches, two years;
`--keep` keeps that database, and a later run reuses it). Prints one JSON object. Not a
timed test: figures depend on the machine, which is recorded with them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from benchmarks import schedule_data
from benchmarks.common import drop_database, fresh_database
from benchmarks.schedule_data import DAY, day_counts, seed
from komawari.db.engine import normalise_url

__all__ = ["DAY", "machine", "seed", "start_serve", "start_server"]  # pages, booking_latency


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(proc: subprocess.Popen[bytes], base: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not become ready")


def start_server(url: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start uvicorn on the application in one process; return it and its base URL."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "KOMAWARI_GENERATION_INTERVAL_MINUTES": "0"}
    command = ["-m", "uvicorn", "komawari.web.app:create_app", "--factory", "--host"]
    proc = subprocess.Popen(
        [sys.executable, *command, "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--no-access-log"],
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    _wait_ready(proc, base)
    return proc, base


def start_serve(url: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start `komawari serve` (its default workers); return it and its base URL."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "KOMAWARI_GENERATION_INTERVAL_MINUTES": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "komawari.cli.main", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    _wait_ready(proc, base)
    return proc, base


def _stats(latencies: list[float], errors: int, seconds: float) -> dict[str, Any]:
    ms = sorted(x * 1000 for x in latencies)
    pct = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "requests": len(ms),
        "errors": errors,
        "throughput_rps": round(len(ms) / seconds, 1),
        "p50_ms": round(pct[49], 2),
        "p90_ms": round(pct[89], 2),
        "p99_ms": round(pct[98], 2),
        "max_ms": round(ms[-1], 2),
    }


async def _drive(
    clients: int, seconds: float, warmup: float, one: Callable[[Any], Awaitable[bool]],
    open_client: Callable[[], Any],
) -> dict[str, Any]:  # fmt: skip
    latencies: list[float] = []
    errors = 0
    started = time.monotonic()
    stop = started + warmup + seconds

    async def worker() -> None:
        nonlocal errors
        async with open_client() as client:
            while (now := time.monotonic()) < stop:
                ok = await one(client)
                elapsed = time.monotonic() - now
                if not ok:
                    errors += 1
                elif now >= started + warmup:
                    latencies.append(elapsed)

    await asyncio.gather(*(worker() for _ in range(clients)))
    return _stats(latencies, errors, seconds)


def http_load(
    base: str, path: str, headers: dict[str, str], status: int, args: argparse.Namespace,
    clients: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Drive GET `path` with concurrent keep-alive clients; count answers other than `status`."""

    async def one(client: httpx.AsyncClient) -> bool:
        return (await client.get(path)).status_code == status

    def open_client() -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=base, headers=headers, timeout=60)

    n = clients or args.clients
    found = asyncio.run(_drive(n, args.seconds, args.warmup, one, open_client))
    return {"path": path, "clients": n, **found}


def sql_load(url: str, branch: int, args: argparse.Namespace) -> dict[str, Any]:
    """Drive the same JSON built by PostgreSQL alone, on as many psycopg connections."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    params = {"b": branch, "d": DAY}

    async def one(conn: psycopg.AsyncConnection[Any]) -> bool:
        cur = await conn.execute(schedule_data.DAY_JSON, params)
        row = await cur.fetchone()
        return row is not None and len(row[0]) > 0

    @contextlib.asynccontextmanager
    async def open_client() -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            yield conn

    found = asyncio.run(_drive(args.clients, args.seconds, args.warmup, one, open_client))
    return {"path": "psycopg: schedule_data.DAY_JSON", "clients": args.clients, **found}


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
        "date": datetime.now(UTC).isoformat(timespec="minutes"),
        "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--scale", type=int, default=0, help="session rows of the large run")
    parser.add_argument("--keep", action="store_true", help="keep the --scale database")
    parser.add_argument("--json", action="store_true", help="(the output is always JSON)")
    args = parser.parse_args()
    server = normalise_url(args.url)
    before = machine()  # the load average before this benchmark adds its own
    url = fresh_database(server, "komawari_bench_api")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        branch_id, token, day = seed(url)
        proc, base = start_serve(url)
        procs.append(proc)
        headers = {"Authorization": f"Bearer {token}"}
        path = f"/api/branches/{branch_id}/schedule?date={DAY.isoformat()}"
        first = httpx.get(base + path, headers=headers, timeout=30)
        check = first.json()
        assert check["counts"]["total"] == 600, check["counts"]
        assert schedule_data.same_json(url, branch_id, DAY, check), "the SQL builds the same JSON"
        revalidate = {**headers, "If-None-Match": first.headers["etag"]}
        alone = http_load(base, path, headers, 200, args, clients=1)
        schedule = http_load(base, path, headers, 200, args)
        revalidated = http_load(base, path, revalidate, 304, args)
        health = http_load(base, "/healthz", {}, 200, args)
        sql = sql_load(url, branch_id, args)
        result: dict[str, Any] = {
            "schedule_p99_over_healthz_p99": round(schedule["p99_ms"] / health["p99_ms"], 2),
            "schedule_rps_over_sql_rps": round(
                schedule["throughput_rps"] / sql["throughput_rps"], 2
            ),
            "revalidate_p99_over_healthz_p99": round(revalidated["p99_ms"] / health["p99_ms"], 2),
            "machine": before,
            "postgres": _version(url),
            "workers": os.cpu_count(),
            "schedule_cache": os.environ.get("KOMAWARI_SCHEDULE_CACHE", "32 (default)"),
            "day": day,
            "response_bytes": len(first.content),
            "schedule_one_client": alone,
            "schedule": schedule,
            "revalidate": revalidated,
            "healthz": health,
            "sql": sql,
        }
        if args.scale:
            big_url, big_branch, big_token = schedule_data.scale_database(server, args.scale)
            big_proc, big_base = start_serve(big_url)
            procs.append(big_proc)
            big_path = f"/api/branches/{big_branch}/schedule?date={DAY.isoformat()}"
            big_headers = {"Authorization": f"Bearer {big_token}"}
            base_alone = http_load(base, path, headers, 200, args, clients=1)
            scaled = http_load(big_base, big_path, big_headers, 200, args, clients=1)
            result["scale_p50_over_base_p50"] = round(scaled["p50_ms"] / base_alone["p50_ms"], 2)
            result["scale"] = {
                "rows": day_counts(big_url, big_branch)["all_rows"],
                "base_one_client": base_alone,
                "scaled_one_client": scaled,
                "kept": args.keep,
            }
            if not args.keep:
                big_proc.terminate()
                big_proc.wait(30)
                drop_database(server, big_url)
        print(json.dumps(result, indent=2))
    finally:
        for p in procs:
            p.terminate()
            p.wait(30)
        drop_database(server, url)


def _version(url: str) -> str:
    with create_engine(url).connect() as conn:
        return "PostgreSQL " + str(conn.execute(text("SHOW server_version")).scalar_one())


if __name__ == "__main__":
    main()
