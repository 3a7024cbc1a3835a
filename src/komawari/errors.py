"""Domain errors: each carries its HTTP status and a problem type (RFC 9457)."""

from __future__ import annotations

from typing import Any


class KomawariError(Exception):
    """Base of every error Komawari reports to a person or a client."""

    status_code = 400
    problem_type = "about:blank"
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def to_problem(self) -> dict[str, Any]:
        """Return the problem+json body of this error."""
        return {
            "type": self.problem_type,
            "title": self.title,
            "status": self.status_code,
            "detail": self.detail,
            **self.extra,
        }


class ConfigurationError(KomawariError):
    """A setting or the environment is wrong; the message says which and what to do."""

    status_code = 500
    problem_type = "/problems/configuration"
    title = "Configuration error"


class NotFound(KomawariError):
    status_code = 404
    problem_type = "/problems/not-found"
    title = "Not found"


class Forbidden(KomawariError):
    status_code = 403
    problem_type = "/problems/forbidden"
    title = "Forbidden"


class Unauthorized(KomawariError):
    status_code = 401
    problem_type = "/problems/unauthorized"
    title = "Unauthorized"


class InvalidInput(KomawariError):
    """Bad input that passed parsing but breaks a domain rule; names the field."""

    status_code = 422
    problem_type = "/problems/invalid-input"
    title = "Invalid input"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", errors=[{"field": field, "message": message}])
        self.field = field


class Conflict(KomawariError):
    status_code = 409
    problem_type = "/problems/conflict"
    title = "Conflict"


class DuplicateSeries(Conflict):
    """An ACTIVE series with the same key exists (promise 3)."""

    problem_type = "/problems/duplicate-series"
    title = "Duplicate series"

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

    def __init__(self, constraint: str, detail: str) -> None:
        super().__init__(f"{constraint}: {detail}", constraint=constraint)
        self.constraint = constraint
