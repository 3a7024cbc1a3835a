"""Domain errors: each carries its HTTP status, a problem type (RFC 9457) and a code.

An error made with a `Say` (`komawari.words`) has that code, and pages show its sentence
in their language; one made with a plain English string has its class's code (for
example `invalid-input`), and pages show the string as it is.
"""

from __future__ import annotations

from typing import Any

from komawari.words import Say


class KomawariError(Exception):
    """Base of every error Komawari reports to a person or a client."""

    status_code = 400
    problem_type = "about:blank"
    title = "Bad request"
    code = "bad-request"

    def __init__(self, detail: str | Say, **extra: Any) -> None:
        said = detail if isinstance(detail, Say) else None
        text = said.english if said else str(detail)
        super().__init__(text)
        self.detail = text
        self.said = said
        self.extra = extra
        if said is not None:
            self.code = said.code

    @property
    def words(self) -> Say | str:
        """What a page shows: the `Say` (translated there), or the plain detail."""
        return self.said if self.said is not None else self.detail

    def to_problem(self) -> dict[str, Any]:
        """Return the problem+json body of this error."""
        return {
            "type": self.problem_type,
            "title": self.title,
            "status": self.status_code,
            "code": self.code,
            "detail": self.detail,
            **self.extra,
        }


class ConfigurationError(KomawariError):
    """A setting or the environment is wrong; the message says which and what to do."""

    status_code = 500
    problem_type = "/problems/configuration"
    title = "Configuration error"
    code = "configuration"


class NotSetUp(KomawariError):
    """A part of Komawari the school has not configured yet (LINE without its secret)."""

    status_code = 503
    problem_type = "/problems/not-set-up"
    title = "Not set up"
    code = "not-set-up"


class NotFound(KomawariError):
    status_code = 404
    problem_type = "/problems/not-found"
    title = "Not found"
    code = "not-found"


class Forbidden(KomawariError):
    status_code = 403
    problem_type = "/problems/forbidden"
    title = "Forbidden"
    code = "forbidden"


class Unauthorized(KomawariError):
    status_code = 401
    problem_type = "/problems/unauthorized"
    title = "Unauthorized"
    code = "unauthorized"


class InvalidInput(KomawariError):
    """Bad input that passed parsing but breaks a domain rule; names the field."""

    status_code = 422
    problem_type = "/problems/invalid-input"
    title = "Invalid input"
    code = "invalid-input"

    def __init__(self, field: str, message: str | Say) -> None:
        text = str(message)
        super().__init__(f"{field}: {text}")
        if isinstance(message, Say):
            self.said = message
            self.code = message.code
        self.extra["errors"] = [{"field": field, "message": text, "code": self.code}]
        self.field = field


class Conflict(KomawariError):
    status_code = 409
    problem_type = "/problems/conflict"
    title = "Conflict"
    code = "conflict"


class DuplicateSeries(Conflict):
    """An ACTIVE series with the same key exists (promise 3)."""

    problem_type = "/problems/duplicate-series"
    title = "Duplicate series"
    code = "series.duplicate"

    def __init__(self, existing_id: int) -> None:
        super().__init__(
            f"an ACTIVE series with the same branch, teacher, student or group, times and "
            f"weekdays already exists: series {existing_id}",
            existing_series_id=existing_id,
            existing_series_url=f"/api/class-series/{existing_id}",
        )
        self.existing_id = existing_id


class DuplicateSession(Conflict):
    """A non-cancelled private session with the same key exists (promise 1)."""

    problem_type = "/problems/duplicate-session"
    title = "Duplicate session"
    code = "lesson.duplicate"

    def __init__(self, existing_id: int | None) -> None:
        where = f"session {existing_id}" if existing_id else "a lesson you cannot see"
        super().__init__(
            "a non-cancelled lesson with the same date, times, teacher and student "
            f"already exists: {where}",
            existing_session_id=existing_id,
        )
        self.existing_id = existing_id


class GuardViolation(Conflict):
    """The database refused a change with a named guard that has no finer error."""

    problem_type = "/problems/guard-violation"
    title = "Refused by a database guard"
    code = "guard-violation"

    def __init__(self, constraint: str, detail: str) -> None:
        super().__init__(f"{constraint}: {detail}", constraint=constraint)
        self.constraint = constraint
