"""LINE through line-bot-sdk's Messaging API push.

The X-Line-Retry-Key is the message's key: a push sent again after a timeout answers 409
("already accepted") instead of reaching the family twice. A 429 pauses every worker's
LINE sending (the pause is shared in the database); a 400 (an unknown or blocked user)
will not get better and goes to the dead letters.
"""

from __future__ import annotations

from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MessagingApi,
    PushMessageRequest,
    TextMessage,
)

from komawari.notices.channels import Outcome, Outgoing

TIMEOUT = (3.05, 15.0)
# LINE answers 429 without saying for how long: wait this long before the next push.
RATE_PAUSE = 60.0
TEXT_LIMIT = 5000  # characters in one text message


class Line:
    """Pushes one text message per notice."""

    def __init__(self, api_url: str, token: str) -> None:
        config = Configuration(host=api_url.rstrip("/"), access_token=token)
        config.retries = 0  # the outbox retries, with the same retry key
        self._client = ApiClient(config)
        self._api = MessagingApi(self._client)

    def send(self, message: Outgoing) -> Outcome:
        """Push one message to its LINE user."""
        text = f"{message.subject}\n\n{message.text}"[:TEXT_LIMIT]
        request = PushMessageRequest(to=message.address, messages=[TextMessage(text=text)])
        try:
            response = self._api.push_message_with_http_info(
                request, x_line_retry_key=message.key, _request_timeout=TIMEOUT
            )
        except ApiException as exc:
            status = int(exc.status or 0)
            body = exc.body.decode(errors="replace") if isinstance(exc.body, bytes) else exc.body
            if status == 409:
                return Outcome("already", status, body)
            if status == 429:
                return Outcome("retry", status, body, pause=RATE_PAUSE)
            if status in (400, 401, 403, 404):
                return Outcome("dead", status, body)
            return Outcome("retry", status or None, body)
        except Exception as exc:  # a timeout, a dropped connection: the retry key holds
            return Outcome("retry", None, f"{type(exc).__name__}: {exc}")
        request_id = (response.headers or {}).get("x-line-request-id")
        return Outcome("sent", response.status_code, request_id)

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()
