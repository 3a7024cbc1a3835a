"""Benchmark the outbox: 10,000 intents drained and sent to the test SMTP server, beside a
bare aiosmtplib loop sending the same 10,000 messages (issue #23).

    python3 dev.py bench notices [--url postgresql://postgres@127.0.0.1:5432/test]
        [--intents 10000] [--json]

Builds, in a fresh database, one branch with 50 teachers and N students, each student
with a guardian (an email address) and one lesson on the same far day; cancels every
lesson in one statement (the trigger writes N intents). Then, timed:

- `drain_send_s`: Komawari drains the intents into N messages (batches of 500 people,
  each batch one transaction) and sends them to the loopback SMTP server (each message
  claimed, sent and recorded in its own transaction, over one SMTP connection);
- `bare_s`: an aiosmtplib loop that sends the same N messages (the drain's own subjects,
  bodies and Message-IDs) over one connection to the same server, nothing recorded.

Both run in this one process, side by side, best of `--rounds`. Key: `drain_over_bare`
(target: at most 1.5). Not a timed test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from typing import Any

import aiosmtplib
from sqlalchemy import Engine, create_engine, select, text

from benchmarks.api_schedule import machine
from benchmarks.common import drop_database, fresh_database
from komawari import config
from komawari.db.engine import normalise_url, session_scope
from komawari.notices import drain, send
from komawari.notices.channels import Outgoing
from komawari.notices.channels.email import Email, build
from komawari.notices.enums import Channel
from komawari.notices.models import NoticeMessage
from komawari_soak.fakes.smtp import FakeSmtp

SENDER = "school@example.jp"

SCHOOL = """
INSERT INTO branches (name, time_zone) VALUES ('Bench', 'Asia/Tokyo');
INSERT INTO teachers (name) SELECT 'T' || g FROM generate_series(1, 50) g;
INSERT INTO students (name) SELECT 'S' || g FROM generate_series(1, :n) g;
INSERT INTO contacts (name, email, language, quiet_start, quiet_end)
SELECT 'G' || g, 'g' || g || '@example.jp', CASE WHEN g % 2 = 0 THEN 'ja' ELSE 'en' END,
       '00:00', '00:00'
  FROM generate_series(1, :n) g;
INSERT INTO contact_students (contact_id, student_id, relation)
SELECT g, g, 'mother' FROM generate_series(1, :n) g;
INSERT INTO class_sessions (branch_id, time_zone, kind, date, start_time, end_time,
                            teacher_id, student_id)
SELECT 1, 'Asia/Tokyo', 'PRIVATE', DATE '2030-12-05' + (g / 2000),
       TIME '08:00' + make_interval(mins => 5 * ((g / 50) % 150)),
       TIME '08:04' + make_interval(mins => 5 * ((g / 50) % 150)),
       1 + g % 50, g
  FROM generate_series(1, :n) g;
"""
CANCEL = "UPDATE class_sessions SET status = 'CANCELLED', cancel_reason = 'bench'"
RESET = """
TRUNCATE notice_deliveries, notice_messages, notice_channel_state CASCADE;
UPDATE class_sessions SET status = 'CONFIRMED', cancel_reason = NULL;
SET komawari.notices = 'off';
"""


def build_school(engine: Engine, n: int) -> None:
    with engine.begin() as conn:
        for statement in SCHOOL.split(";"):
            if statement.strip():
                conn.execute(text(statement), {"n": n})


def cancel_all(engine: Engine) -> int:
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE notice_deliveries, notice_messages CASCADE"))
        conn.execute(text("DELETE FROM notice_intents"))
        conn.execute(text("SET LOCAL komawari.notices = 'off'"))
        conn.execute(text("UPDATE class_sessions SET status = 'CONFIRMED', cancel_reason = NULL"))
    with engine.begin() as conn:
        conn.execute(text(CANCEL))
        return int(conn.execute(text("SELECT count(*) FROM notice_intents")).scalar_one())


def drain_and_send(engine: Engine, smtp: FakeSmtp) -> tuple[float, int]:
    start = time.perf_counter()
    while True:
        with session_scope(engine) as db:
            if drain.drain(db, limit=500).messages == 0:
                break
    sender = Email(smtp.url, sender=SENDER)
    done = send.send_due(engine, senders={Channel.EMAIL: sender})
    sender.close()
    return time.perf_counter() - start, done.sent


def outgoing(engine: Engine) -> list[Outgoing]:
    with session_scope(engine) as db:
        return [
            Outgoing(str(m.key), m.address or "", m.subject, m.body_text, m.body_html)
            for m in db.scalars(select(NoticeMessage).order_by(NoticeMessage.id))
        ]


async def _bare(host: str, port: int, messages: list[Outgoing]) -> None:
    client = aiosmtplib.SMTP(hostname=host, port=port, start_tls=False)
    await client.connect()
    for message in messages:
        await client.send_message(build(message, sender=SENDER))
    await client.quit()


def bare(smtp: FakeSmtp, messages: list[Outgoing]) -> float:
    start = time.perf_counter()
    asyncio.run(_bare(smtp.host, smtp.port, messages))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--intents", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    server = normalise_url(args.url)
    url = fresh_database(server, "komawari_bench_notices")
    out: dict[str, Any] = {"machine": machine(), "intents": args.intents}
    try:
        engine = create_engine(url)
        # Two servers: one receives Komawari's messages (its duplicates are Komawari's),
        # the other the bare loop's copies of them.
        with FakeSmtp() as smtp, FakeSmtp() as plain:
            os.environ["KOMAWARI_SMTP_URL"] = smtp.url
            os.environ["KOMAWARI_NOTICE_WINDOW_SECONDS"] = "0"
            config.get_settings.cache_clear()
            build_school(engine, args.intents)
            ours, theirs, trigger = [], [], []
            for _ in range(args.rounds):
                start = time.perf_counter()
                written = cancel_all(engine)
                trigger.append(time.perf_counter() - start)
                assert written == args.intents, written
                before = smtp.count
                elapsed, sent = drain_and_send(engine, smtp)
                assert sent == args.intents, sent
                assert smtp.count - before == sent, (sent, smtp.count)
                ours.append(elapsed)
                theirs.append(bare(plain, outgoing(engine)))
            out |= {
                "cancel_with_intents_s": round(min(trigger), 3),
                "drain_send_s": round(min(ours), 3),
                "bare_s": round(min(theirs), 3),
                "drain_over_bare": round(min(ours) / min(theirs), 2),
                "messages_per_s": round(args.intents / min(ours)),
                "duplicates_at_receiver": len(smtp.duplicates()),
            }
        engine.dispose()
    finally:
        drop_database(server, url)
    print(json.dumps(out, indent=2) if args.json else out)


if __name__ == "__main__":
    main()
