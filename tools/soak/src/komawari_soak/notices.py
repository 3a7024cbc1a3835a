"""The soak's notices: the loopback SMTP and LINE servers the servers' workers send to,
faults on them during the load, and the end-of-run count (exactly once per message).

Every student of the school gets a guardian (an email; every third also LINE), every
teacher a contact of their own; quiet hours are off, so the clock decides nothing. While
the load runs, the receivers fail, stall, drop connections and answer 429 in turn; the
servers' workers are SIGKILLed and PostgreSQL restarts with the rest of the faults.
After the servers stop, the outbox is drained by `komawari notices send --due-now` until
nothing waits. Then:

- `notices_expected`: the messages the outbox made (each one person's changes of a
  moment), every one of which must reach its receiver;
- `notices_delivered`: those whose key (Message-ID, X-Line-Retry-Key) a receiver took;
- `notice_duplicates`: a change a person was told twice: two LINE pushes accepted for
  one message, or a message that arrived though no intent is settled by it (two
  drainers made a message each for the same changes: the second settling took the
  intents over). No soak contact asks for two channels, so every message is some
  intent's;
- `notice_same_id_redeliveries`: an email taken again with the Message-ID it had (the
  server took it, the answer was lost, the sender sent it again): one message, which
  mail software shows once; counted apart, not as a duplicate;
- `notices_lost`: messages not delivered, intents never settled, and acknowledged
  cancellations (still cancelled at the end) with no intent for a person of the lesson.
"""

from __future__ import annotations

import itertools
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine, text

from komawari_soak.fakes.line import DEFAULT_TOKEN, FakeLine
from komawari_soak.fakes.smtp import FakeSmtp
from komawari_soak.ledger import Ledger

FAULT_EVERY = 6.0  # seconds between two faults of the receivers
SETTLE_SECONDS = 180.0

CONTACTS = """
INSERT INTO contacts (name, email, line_user_id, language, quiet_start, quiet_end)
SELECT 'Guardian of ' || s.name, 'guardian' || s.id || '@example.jp',
       CASE WHEN s.id % 3 = 0 THEN 'U' || md5('soak' || s.id) END,
       CASE WHEN s.id % 2 = 0 THEN 'ja' ELSE 'en' END, '00:00', '00:00'
  FROM students s ORDER BY s.id;
INSERT INTO contact_students (contact_id, student_id, relation)
SELECT c.id, s.id, 'mother' FROM students s JOIN contacts c ON c.email = 'guardian' || s.id || '@example.jp';
INSERT INTO contacts (name, email, teacher_id, language, quiet_start, quiet_end)
SELECT t.name, 'teacher' || t.id || '@example.jp', t.id, 'ja', '00:00', '00:00' FROM teachers t
"""  # noqa: E501

# An acknowledged cancellation whose lesson is cancelled at the end, and a person of the
# lesson with no intent about it: a change nobody was told of.
UNTOLD = """
WITH lessons AS (
    SELECT s.id, s.teacher_id, s.student_id FROM class_sessions s
     WHERE s.id = ANY(:ids) AND s.status = 'CANCELLED' AND s.duplicate_of_id IS NULL
), people AS (
    SELECT l.id, cs.contact_id FROM lessons l
      JOIN LATERAL (SELECT l.student_id WHERE l.student_id IS NOT NULL
                    UNION SELECT a.student_id FROM session_attendees a WHERE a.session_id = l.id
                   ) x(student_id) ON true
      JOIN contact_students cs ON cs.student_id = x.student_id
    UNION
    SELECT l.id, c.id FROM lessons l JOIN contacts c ON c.teacher_id = l.teacher_id
)
SELECT count(*) FROM people p
 WHERE NOT EXISTS (SELECT 1 FROM notice_intents i
                    WHERE i.session_id = p.id AND i.contact_id = p.contact_id
                      AND i.kind IN ('cancel', 'break', 'closure'))
"""


class Notices:
    """The receivers, their faults, and the count."""

    def __init__(self) -> None:
        self.smtp = FakeSmtp()
        self.line = FakeLine(accept_any_user=True)
        self.faults: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start both receivers."""
        self.smtp.start()
        self.line.start()

    def stop(self) -> None:
        """Stop the faults and the receivers."""
        self.stop_faults()
        self.smtp.stop()
        self.line.stop()

    def env(self) -> dict[str, str]:
        """A server's settings for the receivers: a short window and lease, as a test's."""
        return {
            "KOMAWARI_SMTP_URL": self.smtp.url,
            "KOMAWARI_MAIL_FROM": "soak@example.jp",
            "KOMAWARI_LINE_CHANNEL_TOKEN": DEFAULT_TOKEN,
            "KOMAWARI_LINE_API_URL": self.line.url,
            "KOMAWARI_NOTICE_WINDOW_SECONDS": "3",
            "KOMAWARI_NOTICE_LEASE_SECONDS": "10",
        }

    def add_contacts(self, url: str) -> int:
        """Give every student a guardian and every teacher a contact; return how many."""
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                for statement in CONTACTS.split(";"):
                    conn.execute(text(statement))
                return int(conn.execute(text("SELECT count(*) FROM contacts")).scalar_one())
        finally:
            engine.dispose()

    # -- faults of the receivers -------------------------------------------------------

    def start_faults(self) -> None:
        """Fail, stall, drop and rate-limit the receivers in turn while the load runs."""
        self._thread = threading.Thread(target=self._faults, name="notice-faults", daemon=True)
        self._thread.start()

    def stop_faults(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.smtp.reset()
        self.line.reset()

    def _faults(self) -> None:
        kinds: itertools.cycle[tuple[str, Callable[[], None]]] = itertools.cycle(
            [
                ("smtp_fail", lambda: self.smtp.fail_next(3)),
                ("line_fail", lambda: self.line.fail_next(2, status=500)),
                ("smtp_drop", lambda: self.smtp.drop_next(2)),
                ("line_accept_then_drop", lambda: self.line.accept_then_drop_next(2)),
                ("smtp_accept_then_drop", lambda: self.smtp.accept_then_drop_next(1)),
                ("line_429", lambda: self.line.fail_next(1, status=429)),
                ("smtp_stall", self._stall_smtp),
            ]
        )
        while not self._stop.wait(FAULT_EVERY):
            name, act = next(kinds)
            act()
            self.faults[name] += 1

    def _stall_smtp(self) -> None:
        self.smtp.stall(3.0)
        if not self._stop.wait(4.0):
            self.smtp.stall(0)

    # -- the end -----------------------------------------------------------------------

    def settle(self, run: Callable[..., subprocess.CompletedProcess[str]]) -> dict[str, Any]:
        """Send what waits (`komawari notices send --due-now`) until nothing does."""
        rounds = 0
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            rounds += 1
            done = run("notices", "send", "--due-now", "--json")
            status = run("notices", "status", "--json")
            try:
                counts = _last_json(status.stdout)
            except ValueError:
                counts = {}
            if (
                done.returncode == 0
                and counts.get("intents_waiting") == 0
                and counts.get("messages_pending") == 0
            ):
                return {"settle_rounds": rounds, **counts}
            time.sleep(2.0)  # a dead worker's lease runs out
        return {"settle_rounds": rounds, "settled": False}

    def figures(self, url: str, ledger: Ledger) -> dict[str, Any]:
        """Count the outbox against what the receivers took."""
        mail = Counter(
            mid.removeprefix("<notice-").removesuffix("@komawari>")
            for mid in self.smtp.message_ids()
        )
        pushes = Counter(p.retry_key for p in self.line.pushes if p.retry_key)
        cancelled = sorted(
            {
                int(a.response["id"])
                for a in ledger.acks
                if a.op == "session.cancel" and isinstance(a.response, dict) and "id" in a.response
            }
        )
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                messages = conn.execute(
                    text("SELECT key::text, channel::text, status::text FROM notice_messages")
                ).all()
                unsettled = conn.execute(
                    text("SELECT count(*) FROM notice_intents WHERE settled_at IS NULL")
                ).scalar_one()
                intents: dict[str, int] = dict(
                    conn.execute(
                        text(
                            "SELECT coalesce(dropped, 'told'), count(*) FROM notice_intents"
                            " GROUP BY 1"
                        )
                    ).all()
                )
                untold = conn.execute(text(UNTOLD), {"ids": cancelled}).scalar_one()
                orphans = set(
                    conn.execute(
                        text(
                            "SELECT m.key::text FROM notice_messages m WHERE NOT EXISTS"
                            " (SELECT 1 FROM notice_intents i WHERE i.message_id = m.id)"
                        )
                    ).scalars()
                )
        finally:
            engine.dispose()
        expected = [m for m in messages if m.status != "held"]
        taken = {"email": mail, "line": pushes}
        delivered = sum(1 for m in expected if taken[m.channel].get(m.key, 0) > 0)
        arrived = set(mail) | set(pushes)
        duplicates = sum(n - 1 for n in pushes.values() if n > 1) + len(orphans & arrived)
        return {
            "notices_expected": len(expected),
            "notices_delivered": delivered,
            "notice_duplicates": duplicates,
            "notice_same_id_redeliveries": sum(n - 1 for n in mail.values() if n > 1),
            "notices_lost": (len(expected) - delivered) + int(unsettled) + int(untold),
            "notice_intents": {str(k): int(v) for k, v in intents.items()},
            "notice_untold_cancellations": int(untold),
            "notice_dead_letters": sum(1 for m in messages if m.status == "dead"),
            "notice_emails_received": sum(mail.values()),
            "notice_line_pushes": sum(pushes.values()),
            "notice_line_requests": self.line.requests,
            "notice_faults": dict(self.faults),
        }


def _last_json(output: str) -> dict[str, Any]:
    import json

    lines = [line for line in output.strip().splitlines() if line.startswith("{")]
    if not lines:
        raise ValueError("no JSON")
    return dict(json.loads(lines[-1]))
