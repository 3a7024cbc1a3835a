"""The attacker's figures, repeated over HTTP against `komawari serve`: the sign-in
throttle under 100 concurrent tries, sign-in timing for existing and unknown user names,
a 1 GiB chunked upload before sign-in, and the page dates at the ends of the calendar.

Builds a fresh database on the server of --url, starts `komawari serve` (its default
workers) on it, and prints one JSON object. The leaks of another branch's lessons are
measured by tests/sessions/test_read_model.py (every preview, 409 and audit path).
"""

from __future__ import annotations

import argparse
import json
import re
import select
import socket
import statistics
import subprocess
import threading
import time
from typing import Any
from urllib.parse import urlparse

import httpx
from sqlalchemy import create_engine, text

from benchmarks.api_schedule import machine, start_serve
from benchmarks.common import drop_database, fresh_database
from komawari.audit.service import Actor
from komawari.auth import users
from komawari.auth.enums import Role
from komawari.branches import service as branches
from komawari.db.engine import normalise_url, session_scope
from komawari.people import service as people

SETUP = Actor("bench", "attack")
PASSWORD = "correct horse battery"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _browser(base: str) -> tuple[httpx.Client, str]:
    """Return a signed-out browser and its sign-in form's CSRF token."""
    client = httpx.Client(base_url=base, timeout=60)
    found = TOKEN.search(client.get("/sign-in").text)
    assert found is not None
    return client, found.group(1)


def _try(base: str, cookies: dict[str, str], token: str, name: str) -> tuple[int, float]:
    with httpx.Client(base_url=base, cookies=cookies, timeout=120) as client:
        started = time.perf_counter()
        answer = client.post(
            "/sign-in", data={"csrf_token": token, "username": name, "password": "wrong guess"}
        )
        return answer.status_code, time.perf_counter() - started


def concurrent_tries(base: str, names: list[str]) -> dict[str, int]:
    """Send one wrong password per name, all at once; count the answers by status."""
    browser, token = _browser(base)
    cookies = dict(browser.cookies)
    browser.close()
    answers: list[int] = []
    barrier = threading.Barrier(len(names))

    def one(name: str) -> None:
        barrier.wait()
        answers.append(_try(base, cookies, token, name)[0])

    threads = [threading.Thread(target=one, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {str(s): answers.count(s) for s in sorted(set(answers))}


def timing(base: str, existing: list[str], unknown: list[str]) -> dict[str, float]:
    """Median seconds of a wrong password for existing and for unknown names, interleaved."""
    browser, token = _browser(base)
    cookies = dict(browser.cookies)
    browser.close()
    times: dict[str, list[float]] = {"existing": [], "unknown": []}
    for known, stranger in zip(existing, unknown, strict=True):
        for kind, name in (("existing", known), ("unknown", stranger)):
            status, seconds = _try(base, cookies, token, name)
            assert status == 401, status
            times[kind].append(seconds)
    medians = {k: statistics.median(v) for k, v in times.items()}
    return {
        "existing_median_ms": round(medians["existing"] * 1000, 1),
        "unknown_median_ms": round(medians["unknown"] * 1000, 1),
        "unknown_over_existing": round(medians["unknown"] / medians["existing"], 3),
    }


def chunked_upload(base: str, total: int) -> dict[str, Any]:
    """Stream a chunked multipart body of up to `total` bytes to /sign-in, signed out."""
    url = urlparse(base)
    chunk = b"x" * 1_048_576
    sent = 0
    started = time.perf_counter()
    with socket.create_connection((url.hostname, url.port), timeout=60) as sock:
        sock.sendall(
            f"POST /sign-in HTTP/1.1\r\nHost: {url.netloc}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        part = b'--b\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\n'
        sock.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        try:
            while sent < total:
                if select.select([sock], [], [], 0)[0]:
                    break
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = sock.recv(4096).decode(errors="replace")
    return {
        "offered_bytes": total,
        "sent_before_the_answer": sent,
        "status": int(answer.split(" ", 2)[1]),
        "seconds": round(time.perf_counter() - started, 2),
    }


def page_dates(base: str) -> dict[str, int]:
    """Status of every page date probe, signed in as an admin."""
    browser, token = _browser(base)
    browser.post("/sign-in", data={"csrf_token": token, "username": "head", "password": PASSWORD})
    found: dict[str, int] = {}
    for day in ("9999-12-31", "0001-01-01", "1899-12-31", "2201-01-01", "2200-12-31"):
        for path in ("/branches/1/day", "/teachers/1/week", "/students/1/week"):
            found[f"{path}?date={day}"] = browser.get(path, params={"date": day}).status_code
    browser.close()
    return found


def _forget_tries(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM sign_in_failures"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--upload-bytes", type=int, default=2**30)
    parser.add_argument("--json", action="store_true", help="(the output is always JSON)")
    args = parser.parse_args()
    server = normalise_url(args.url)
    before = machine()
    url = fresh_database(server, "komawari_bench_attack")
    proc: subprocess.Popen[bytes] | None = None
    try:
        engine = create_engine(url)
        with session_scope(engine) as s:
            branch = branches.create(s, name="Shibuya", time_zone="Asia/Tokyo", actor=SETUP)
            people.create_teacher(s, name="Sato", actor=SETUP)
            people.create_student(s, name="Aoi", actor=SETUP)
            for name in ["victim", "head", *(f"user{n}" for n in range(10))]:
                role = Role.ADMIN if name == "head" else Role.STAFF
                users.create(
                    s, username=name, role=role, password=PASSWORD,
                    branch_ids=[] if role == Role.ADMIN else [branch.id], teacher_id=None,
                    actor=SETUP,
                )  # fmt: skip
        engine.dispose()
        proc, base = start_serve(url)
        result: dict[str, Any] = {"machine": before}
        result["one_user_100_tries"] = concurrent_tries(base, ["victim"] * 100)
        _forget_tries(url)
        result["one_address_100_names"] = concurrent_tries(base, [f"n{i}" for i in range(100)])
        _forget_tries(url)
        existing = [f"user{n}" for n in range(9)]
        result["sign_in_timing"] = timing(base, existing, [f"nobody{n}" for n in range(9)])
        result["chunked_upload"] = chunked_upload(base, args.upload_bytes)
        dates = page_dates(base)
        result["page_dates"] = dates
        result["page_dates_500"] = sum(1 for s in dates.values() if s >= 500)
        print(json.dumps(result, indent=2))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
        drop_database(server, url)


if __name__ == "__main__":
    main()
