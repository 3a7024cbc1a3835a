"""Email over SMTP (the standard library's smtplib), one connection kept for a run.

`KOMAWARI_SMTP_URL`: smtp://host:port, smtps://user:password@host:port (TLS from the
start), or smtp://...?starttls=1. The Message-ID derives from the message's key, so a
message sent again after a lost answer carries the same id (mail software folds them).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import parse_qs, unquote, urlsplit

from komawari.errors import ConfigurationError
from komawari.notices.channels import Outcome, Outgoing

TIMEOUT = 20.0


def message_id(key: str) -> str:
    """The Message-ID of the message with `key`."""
    return f"<notice-{key}@komawari>"


def build(message: Outgoing, *, sender: str) -> EmailMessage:
    """Return the email: plain text, with the HTML as its alternative."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = message.address
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = message_id(message.key)
    mail.set_content(message.text)
    if message.html:
        mail.add_alternative(message.html, subtype="html")
    return mail


class Email:
    """Sends by SMTP; reconnects when the server drops the connection."""

    def __init__(self, url: str, *, sender: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigurationError(
                "KOMAWARI_SMTP_URL: expected smtp://host:port or smtps://user:password@host:port"
            )
        self.tls = parts.scheme == "smtps"
        self.starttls = parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true")
        self.host = parts.hostname
        self.port = parts.port or (465 if self.tls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        if self._smtp is None:
            smtp: smtplib.SMTP
            if self.tls:
                context = ssl.create_default_context()
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=TIMEOUT, context=context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT)
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password or "")
            self._smtp = smtp
        return self._smtp

    def send(self, message: Outgoing) -> Outcome:
        """Send one message; a 4xx or a lost connection is passing, a 5xx is final."""
        try:
            smtp = self._connect()
            refused = smtp.send_message(build(message, sender=self.sender))
        except smtplib.SMTPResponseException as exc:
            self.close()
            code = int(exc.smtp_code)
            answer = exc.smtp_error.decode(errors="replace") if isinstance(
                exc.smtp_error, bytes) else str(exc.smtp_error)  # fmt: skip
            return Outcome("dead" if 500 <= code < 600 else "retry", code, answer)
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            code, raw = next(iter(exc.recipients.values()))
            answer = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
            return Outcome("dead" if code >= 500 else "retry", code, answer)
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            return Outcome("retry", None, f"{type(exc).__name__}: {exc}")
        if refused:
            return Outcome("dead", None, str(refused))
        return Outcome("sent", 250, message_id(message.key))

    def close(self) -> None:
        """Close the connection (quietly: it may be gone already)."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
