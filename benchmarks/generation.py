"""Benchmark generation against a COPY of the same rows, a naive loop, concurrency, memory.

    .venv/bin/python -m benchmarks.generation [--series 10000] [--url postgresql://...]

Builds a fresh database on the server (default: the PostgreSQL at 127.0.0.1:5432), fills
the issue's fixture (20 branches, 200 teachers, 3,000 students, N ACTIVE private series on
1 to 3 weekdays, horizon 12 weeks), and prints one JSON object with every figure. All
ratios are measured side by side in the one run.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from benchmarks.common import drop_database, fresh_database
from benchmarks.generation_naive import naive
from benchmarks.generation_school import HORIZON, add_contacts, add_groups, fixture, reset, scope
from komawari.db.engine import normalise_url, session_scope
from komawari.generation import job
from komawari.generation import service as generation
from komawari.generation.enums import RunTrigger

ROUNDS = 3
COLUMNS = (
    "branch_id, time_zone, series_id, original_date, kind, title, date, start_time,"
    " end_time, teacher_id, student_id, room_id, status, created_at"
)


def timed_run(engine: Engine) -> tuple[float, generation.RunResult]:
    start = time.perf_counter()
    result = job.run(engine, trigger=RunTrigger.CLI, scope=scope())
    return time.perf_counter() - start, result


def timed_copy(url: str, engine: Engine) -> tuple[float, int]:
    """Dump the generated rows, empty the table, and time a COPY of them back in."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    buf = io.BytesIO()
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY (SELECT {COLUMNS} FROM class_sessions ORDER BY id) TO STDOUT") as cp:
            for chunk in cp:
                buf.write(chunk)
        cur.execute("TRUNCATE class_sessions, session_attendees RESTART IDENTITY CASCADE")
        conn.commit()
        data = buf.getvalue()
        start = time.perf_counter()
        with cur.copy(f"COPY class_sessions ({COLUMNS}) FROM STDIN") as cp:
            cp.write(data)
        conn.commit()
        elapsed = time.perf_counter() - start
        cur.execute("SELECT count(*) FROM class_sessions")
        count = cur.fetchone()[0]  # type: ignore[index]
    return elapsed, int(count)


def _proc(url: str, barrier: Any, done: Any) -> None:
    engine = create_engine(url)
    # Warmed up as the parent is before its timed run: mappers configured, statements
    # compiled, a connection open (each costs about 0.5 s of CPU in a new process).
    with session_scope(engine) as s:
        job.mark_abandoned(s)
    barrier.wait()
    job.run(engine, trigger=RunTrigger.SCHEDULE, scope=scope())
    done.put(time.monotonic())


def concurrent(url: str, n: int) -> tuple[float, float]:
    """Start `n` runs together; return (until the last run returned, until every process ended).

    The first is generation's time; the second adds the interpreters' exit, which the
    single run measured in this process does not pay.
    """
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(n + 1)
    done = ctx.Queue()
    procs = [ctx.Process(target=_proc, args=(url, barrier, done)) for _ in range(n)]
    for p in procs:
        p.start()
    barrier.wait()
    start = time.monotonic()  # system-wide on Linux: comparable with the children's
    ends = [done.get() for _ in procs]
    for p in procs:
        p.join()
        assert p.exitcode == 0
    return max(ends) - start, time.monotonic() - start


def peak_memory(url: str) -> int:
    """Run one generation in a fresh process; return that process's peak RSS in KiB."""
    code = (
        "import resource, sys; from benchmarks.generation import *;"
        " e = create_engine(sys.argv[1]);"
        " job.run(e, trigger=RunTrigger.CLI, scope=scope());"
        " print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, url],
        check=True,
        cwd=os.getcwd(),
        capture_output=True,
        text=True,
    )
    return int(done.stdout.strip().splitlines()[-1])


def memory_by_size(server: str, sizes: list[int]) -> dict[str, int]:
    """Peak RSS of one run for several fixture sizes: it must not grow with the series."""
    peaks = {}
    for n in sizes:
        url = fresh_database(server, "komawari_bench")
        try:
            engine = create_engine(url)
            fixture(engine, n)
            engine.dispose()
            peaks[str(n)] = peak_memory(url)
        finally:
            drop_database(server, url)
    return peaks


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    with create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test").connect() as c:
        pg = c.execute(text("SHOW server_version")).scalar_one()
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "postgresql": pg,
        "date": datetime.now(UTC).date().isoformat(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument(
        "--url",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="a server URL; a fresh database is made on it",
    )
    parser.add_argument("--concurrent", type=int, default=8)
    parser.add_argument(
        "--groups",
        type=int,
        default=1000,
        help="group series added (4 to 8 students each) for a last run with group lessons",
    )
    args = parser.parse_args()
    server = normalise_url(args.url)
    url = fresh_database(server, "komawari_bench")
    out: dict[str, Any] = {"machine": machine(), "series": args.series, "horizon_days": HORIZON}
    try:
        engine = create_engine(url)
        fixture(engine, args.series)
        # With the notices' outbox at work: a new series's first generation tells its
        # student's guardian and its teacher (one intent each per series, not per lesson).
        out["contacts"] = add_contacts(engine)
        # First runs and COPYs interleaved, three of each, the best of each compared: the
        # two see the same machine (a COPY run apart from its first runs moved the ratio
        # by 5% on this shared machine).
        gen_times, copy_times = [], []
        for _ in range(ROUNDS):
            reset(engine)
            elapsed, result = timed_run(engine)
            gen_times.append(elapsed)
            with engine.connect() as conn:  # before the COPY empties the tables
                intents, series_told = conn.execute(
                    text(
                        "SELECT count(*), count(DISTINCT series_id) FROM notice_intents"
                        " WHERE kind = 'new_series'"
                    )
                ).one()
            copy_s, copied = timed_copy(url, engine)
            copy_times.append(copy_s)
        out["rows"] = result.counts.created
        out["conflicted"] = result.counts.conflicted
        out["new_series_intents"] = intents
        out["new_series_intents_per_series_told"] = round(intents / max(1, series_told), 2)
        noop_start = time.perf_counter()
        again = job.run(engine, trigger=RunTrigger.CLI, scope=scope())
        out["second_run_s"] = round(time.perf_counter() - noop_start, 4)
        out["second_run_rows"] = again.counts.created
        gen, copy = min(gen_times), min(copy_times)
        out |= {
            "first_run_s": round(gen, 3),
            "first_run_rows_per_s": round(out["rows"] / gen),
            "copy_s": round(copy, 3),
            "copy_rows": copied,
            "first_run_over_copy": round(gen / copy, 2),
            "first_run_tries_s": [round(t, 3) for t in gen_times],
            "copy_tries_s": [round(t, 3) for t in copy_times],
            "second_run_over_first": round(out["second_run_s"] / gen, 4),
        }
        reset(engine)
        sample = max(1, args.series // 10)
        naive_s, naive_rows = naive(engine, sample)
        extrapolated = naive_s * args.series / sample
        out |= {
            "naive_sample_series": sample,
            "naive_sample_s": round(naive_s, 2),
            "naive_sample_rows": naive_rows,
            "naive_extrapolated_s": round(extrapolated, 1),
            "speedup_over_naive": round(extrapolated / gen, 1),
        }
        reset(engine)
        same_s, same_rows = naive(engine, sample, verdicts=True)
        same_extrapolated = same_s * args.series / sample
        out |= {
            "naive_with_verdicts_sample_s": round(same_s, 2),
            "naive_with_verdicts_sample_rows": same_rows,
            "naive_with_verdicts_extrapolated_s": round(same_extrapolated, 1),
            "speedup_over_naive_with_verdicts": round(same_extrapolated / gen, 1),
        }
        # Two tries, like the single run's two: the figure compares the best of each.
        tries = []
        for _ in range(2):
            reset(engine)
            tries.append(concurrent(url, args.concurrent))
        wall, exited = min(tries)
        with engine.connect() as conn:
            rows, distinct = conn.execute(
                text(
                    "SELECT count(*), count(DISTINCT (series_id, original_date))"
                    " FROM class_sessions"
                )
            ).one()
        out |= {
            "concurrent_runs": args.concurrent,
            "concurrent_wall_s": round(wall, 3),
            "concurrent_wall_tries_s": [round(w, 3) for w, _ in tries],
            "concurrent_over_one": round(wall / gen, 2),
            "concurrent_processes_exited_s": round(exited, 3),
            "concurrent_rows": rows,
            "concurrent_duplicates": rows - distinct,
        }
        if args.groups:
            add_groups(engine, args.groups)
            reset(engine)
            elapsed, result = timed_run(engine)
            with engine.connect() as conn:
                attendees = conn.execute(text("SELECT count(*) FROM session_attendees")).scalar()
            out |= {
                "with_groups_series": args.groups,
                "with_groups_first_run_s": round(elapsed, 3),
                "with_groups_rows": result.counts.created,
                "with_groups_attendees": attendees,
                "with_groups_conflicted": result.counts.conflicted,
            }
        engine.dispose()
    finally:
        drop_database(server, url)
    out["peak_rss_kib_by_series"] = memory_by_size(server, [args.series // 4, args.series])
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
