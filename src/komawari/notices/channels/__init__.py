"""How a message leaves: email over SMTP, LINE through the Messaging API's push."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

# sent: the receiver took it; already: it had taken it before (LINE's 409 on a repeated
# retry key); retry: a passing failure, try later; dead: it will never take it.
Result = Literal["sent", "already", "retry", "dead"]


@dataclass(frozen=True)
class Outcome:
    """What a channel's receiver answered to one attempt."""

    result: Result
    status_code: int | None = None
    answer: str | None = None
    # A pause for every sender on this channel (LINE's 429), in seconds.
    pause: float | None = None


@dataclass(frozen=True)
class Outgoing:
    """A message as a channel sends it."""

    key: str  # the message's stable key: Message-ID, X-Line-Retry-Key
    address: str
    subject: str
    text: str
    html: str | None


class Sender(Protocol):
    def send(self, message: Outgoing) -> Outcome: ...

    def close(self) -> None: ...
