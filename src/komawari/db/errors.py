"""What a database error means, said once for the API, the pages and the command line.

The database's own words can quote other rows' values: they go to the log, never to a
person or a client. A refusal by a named constraint becomes a GuardViolation naming it; a
value the database cannot store, bad input; a database that cannot answer, or a pool
with no free connection, Unavailable. Anything else is unexpected (None).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import psycopg
import psycopg_pool
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, StatementError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from komawari.errors import GuardViolation, KomawariError

log = logging.getLogger(__name__)


class Unavailable(KomawariError):
    """The database could not answer now; the same request may work shortly."""

    status_code = 503
    problem_type = "/problems/unavailable"
    title = "Service unavailable"


class UnstorableValue(KomawariError):
    """A value the database cannot store (out of range or malformed)."""

    status_code = 422
    problem_type = "/problems/invalid-input"
    title = "Invalid input"


def constraint_of(exc: BaseException) -> str | None:
    """Return the name of the constraint or index that refused a statement, if any."""
    orig = getattr(exc, "orig", exc)
    name = getattr(getattr(orig, "diag", None), "constraint_name", None)
    return str(name) if name else None


def refused_by(exc: BaseException, *names: str) -> bool:
    """Tell whether `exc` is a unique violation of one of the guards `names`."""
    return isinstance(exc, IntegrityError) and constraint_of(exc) in names


def guarded(
    db: Session,
    change: Callable[[], object],
    refusal: Callable[[], KomawariError],
    *guards: str,
) -> None:
    """Apply `change` and flush in a savepoint; when one of `guards` refuses it, roll the
    savepoint back and raise `refusal()` instead (a 409 or 422 naming what is already
    there, looked up after the rollback). Any other database error goes on unchanged.

    The one way a service turns a guard's refusal into an answer: the guard decides, even
    when a check before it passed and a concurrent writer won the race.
    """
    savepoint = db.begin_nested()  # before the change: begin_nested() flushes
    try:
        change()
        db.flush()
    except IntegrityError as exc:
        savepoint.rollback()
        if refused_by(exc, *guards):
            raise refusal() from exc
        raise
    savepoint.commit()


def meaning(exc: BaseException) -> KomawariError | None:
    """Return the domain error a database error means (None: unexpected, a 500)."""
    if isinstance(exc, IntegrityError):
        name = constraint_of(exc) or "unknown"
        log.warning("refused by the database (%s): %s", name, exc.orig)
        return GuardViolation(name, "the database refused the change")
    if isinstance(exc, DataError) or (
        isinstance(exc, StatementError) and isinstance(exc.orig, ValueError)
    ):
        log.warning("a value the database cannot store: %s", exc.orig or exc)
        return UnstorableValue("a value is not valid for the database (out of range or malformed)")
    if isinstance(exc, OperationalError | psycopg.OperationalError):
        return Unavailable("the database could not answer; retry shortly")
    if isinstance(exc, PoolTimeout | psycopg_pool.PoolTimeout):  # every connection busy
        log.warning("no free database connection: %s", exc)
        return Unavailable("the server is busy (no free database connection); retry shortly")
    return None
