"""Benchmark the make-up (振替) slot finder and a day's roll beside the day page (issue #22).

    python3 dev.py bench furikae [--url postgresql://postgres@127.0.0.1:5432/test]
        [--requests 100] [--json] [--no-analyze]

Builds the generation benchmark's school (`benchmarks/generation_school.py`: 20 branches,
200 teachers, 3,000 students, 10,000 private series) in a fresh database, generates its
12 weeks and ANALYZEs it (as autovacuum would; `--no-analyze` leaves it without
statistics, as a server with autovacuum off does). Picks the busiest branch on the
busiest weekday of the next two weeks (in the branches' zone), gives one student of that
branch a make-up credit (an absence notified before a lesson of theirs on another day,
`POST /api/class-sessions/{id}/attendance`), starts the application in its own process,
and asks, one client at a time and interleaved (so all three meet the same machine):

- `GET /api/students/{id}/makeup-slots?weeks=4` (the slot finder),
- `GET /branches/{id}/day?date=` (the day page, signed in by cookie),
- `POST /api/branches/{id}/attendance?date=` marking every student of every live lesson
  of that day present (one request; again and again, as staff do when they correct).

Prints each one's latency percentiles, `slots_p50_over_day_p50` (target: at most 3) and
`roll_p50_over_day_p50` (target: at most 2). Not a timed test: figures depend on the
machine, which is recorded with them.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from benchmarks.api_schedule import machine, start_server
from benchmarks.common import drop_database, fresh_database
from benchmarks.generation_school import fixture, scope
from benchmarks.pages import _cookie, _stats
from komawari.audit.service import Actor
from komawari.auth import service as auth
from komawari.auth.enums import Role
from komawari.db.engine import normalise_url
from komawari.generation import job
from komawari.generation.enums import RunTrigger
from komawari.scheduling import clock

SERIES = 10_000
WEEKS = 4

# The busiest (branch, weekday) of the next two weeks, from tomorrow (the branch's zone).
BUSIEST = """
SELECT s.branch_id, s.date, count(*) AS lessons
  FROM class_sessions s
 WHERE s.status <> 'CANCELLED' AND s.date BETWEEN :first AND :last
   AND extract(isodow FROM s.date) <= 5
 GROUP BY s.branch_id, s.date
 ORDER BY lessons DESC, s.date, s.branch_id
 LIMIT 1
"""
# Every live lesson of the day and its students (private: its student; group: attendees).
ROLL = """
SELECT s.id, coalesce(array_agg(sa.student_id ORDER BY sa.student_id)
                      FILTER (WHERE sa.student_id IS NOT NULL), '{}') AS attendees,
       s.student_id
  FROM class_sessions s LEFT JOIN session_attendees sa ON sa.session_id = s.id
 WHERE s.branch_id = :branch AND s.date = :day AND s.status <> 'CANCELLED'
 GROUP BY s.id
 ORDER BY s.start_time, s.id
"""
# The absence: the first private lesson at the branch after the roll's day (within the
# slot finder's weeks), so the roll never marks it present and takes the credit back.
ABSENCE = """
SELECT s.id, s.student_id, s.date
  FROM class_sessions s
 WHERE s.branch_id = :branch AND s.date > :day AND s.student_id IS NOT NULL
   AND s.status <> 'CANCELLED'
 ORDER BY s.date, s.start_time, s.id
 LIMIT 1
"""


def build(url: str, *, analyze: bool = True) -> dict[str, Any]:
    """Fill and generate the school; pick the branch, day and student; return them."""
    engine = create_engine(url)
    fixture(engine, SERIES)
    started = time.perf_counter()
    generated = job.run(engine, trigger=RunTrigger.CLI, scope=scope())
    took = time.perf_counter() - started
    if analyze:  # as autovacuum would soon after; the test server may run without it
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    today = clock.branch_today("Asia/Tokyo")  # every branch of the school is in Tokyo
    with Session(engine) as s, s.begin():
        branch, day, count = s.execute(
            text(BUSIEST), {"first": today + timedelta(days=1), "last": today + timedelta(days=14)}
        ).one()
        roll = [
            {
                "session_id": sid,
                "marks": [
                    {"student_id": m, "state": "present"}
                    for m in ([student] if student is not None else attendees)
                ],
            }
            for sid, attendees, student in s.execute(text(ROLL), {"branch": branch, "day": day})
        ]
        absence, student, absent_on = s.execute(text(ABSENCE), {"branch": branch, "day": day}).one()
        user, _ = auth.ensure_user(
            s, username="furikae-bench-api", role=Role.ADMIN, actor=Actor("bench", "furikae")
        )
        token = auth.create_token(s, user=user, name="bench", actor=Actor("bench", "furikae"))[1]
        rows = s.execute(text("SELECT count(*) FROM class_sessions")).scalar_one()
    engine.dispose()
    assert all(lesson["marks"] for lesson in roll), "every lesson has a student"
    return {
        "branch": int(branch),
        "day": day,
        "day_lessons": int(count),
        "roll": roll,
        "student": int(student),
        "absence": int(absence),
        "absent_on": absent_on,
        "token": token,
        "session_rows": int(rows),
        "generation_s": round(took, 2),
        "generated": generated.counts.created,
    }


def run(url: str, requests: int, *, analyze: bool = True) -> dict[str, Any]:
    """Seed, serve, and measure the slot finder, the roll and the day page side by side."""
    school = build(url, analyze=analyze)
    cookie = _cookie(url)
    proc, base = start_server(url)
    branch, day = school["branch"], school["day"]
    headers = {"Authorization": f"Bearer {school['token']}"}
    slots_path = f"/api/students/{school['student']}/makeup-slots?weeks={WEEKS}"
    day_path = f"/branches/{branch}/day?date={day.isoformat()}"
    roll_path = f"/api/branches/{branch}/attendance?date={day.isoformat()}"
    roll_body = {"lessons": school["roll"]}
    marks = sum(len(lesson["marks"]) for lesson in school["roll"])
    timings: dict[str, list[float]] = {"slots": [], "day": [], "roll": []}
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            client.cookies.set("komawari_session", cookie)
            notice = client.post(
                f"/api/class-sessions/{school['absence']}/attendance",
                json={"marks": [{"student_id": school["student"], "state": "absent_notified"}]},
                headers=headers,
            )
            notice.raise_for_status()
            assert notice.json()["credits_issued"], notice.json()
            first_roll = client.post(roll_path, json=roll_body, headers=headers)
            first_roll.raise_for_status()
            for _ in range(5):  # warm up all three (the roll's first marks were made above)
                client.get(slots_path, headers=headers).raise_for_status()
                client.get(day_path).raise_for_status()
                client.post(roll_path, json=roll_body, headers=headers).raise_for_status()
            found = client.get(slots_path, headers=headers).json()
            assert found["credit_id"] is not None, found
            page_bytes = len(client.get(day_path).content)
            marked = len(client.post(roll_path, json=roll_body, headers=headers).json()["lessons"])
            assert marked == len(school["roll"]), (marked, len(school["roll"]))
            steps: tuple[tuple[str, str, str, dict[str, Any] | None, dict[str, str]], ...] = (
                ("slots", "GET", slots_path, None, headers),
                ("day", "GET", day_path, None, {}),
                ("roll", "POST", roll_path, roll_body, headers),
            )
            for _ in range(requests):
                for label, method, path, body, extra in steps:
                    started = time.perf_counter()
                    answer = client.request(method, path, json=body, headers=extra)
                    timings[label].append(time.perf_counter() - started)
                    answer.raise_for_status()
    finally:
        proc.terminate()
        proc.wait(30)
    slots, page, roll = (_stats(timings[k]) for k in ("slots", "day", "roll"))
    return {
        "series": SERIES,
        "session_rows": school["session_rows"],
        "generation_s": school["generation_s"],
        "analyzed": analyze,
        "branch_id": branch,
        "date": day.isoformat(),
        "day_lessons": school["day_lessons"],
        "student_id": school["student"],
        "absence": {"session_id": school["absence"], "date": school["absent_on"].isoformat()},
        "slots": slots
        | {
            "weeks": WEEKS,
            "slots_returned": len(found["slots"]),
            "credit_id": found["credit_id"],
            "credit_branch_id": found["branch_id"],
        },
        "day": page | {"bytes": page_bytes},
        "roll": roll | {"lessons_marked": marked, "marks": marks},
        "slots_p50_over_day_p50": round(slots["p50_ms"] / page["p50_ms"], 2),
        "roll_p50_over_day_p50": round(roll["p50_ms"] / page["p50_ms"], 2),
        "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    parser.add_argument(
        "--no-analyze", action="store_true", help="leave the generated tables without statistics"
    )
    args = parser.parse_args()
    server = normalise_url(args.url)
    url = fresh_database(server, "komawari_bench_furikae")
    try:
        result = run(url, args.requests, analyze=not args.no_analyze)
    finally:
        drop_database(server, url)
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
