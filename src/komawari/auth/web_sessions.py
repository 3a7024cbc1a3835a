"""Signing in to the pages: server-side sessions behind a cookie, and throttled guessing.

The cookie holds a 256-bit secret; the row holds only its SHA-256, so a stolen backup
opens no session. A session ends at sign-out, when its user is disabled, after
IDLE_TIMEOUT without a request, and at the latest LIFETIME after sign-in: every check
is a read of the row, so an ended session stops working at once.

Failed sign-ins are rows too: more than MAX_FAILURES_PER_USER for one user name, or
MAX_FAILURES_PER_ADDRESS from one address, within FAILURE_WINDOW refuse further tries
(without checking the password) until the window has passed.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.auth import service as auth
from komawari.auth.models import SignInFailure, User, WebSession
from komawari.auth.policy import Principal
from komawari.errors import InvalidInput, KomawariError
from komawari.scheduling.clock import db_now
from komawari.words import Say, say

LIFETIME = timedelta(days=7)
IDLE_TIMEOUT = timedelta(hours=12)
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20
SESSION_PREFIX = "kws_"
COOKIE = "komawari_session"  # the cookie that holds a session's secret


class SignInThrottled(KomawariError):
    """Too many failed sign-ins for this user name or from this address."""

    status_code = 429
    problem_type = "/problems/sign-in-throttled"
    title = "Too many failed sign-ins"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            say(
                "sign-in.throttled",
                "too many failed sign-ins; try again in %(minutes)s minute(s)",
                minutes=max(1, retry_after // 60),
            )
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class SignedIn:
    """A live web session and its user."""

    session_id: int
    user: User


def csrf_token(secret: str) -> str:
    """Return the CSRF token of the session whose cookie holds `secret`."""
    return hmac.new(secret.encode(), b"komawari-csrf", hashlib.sha256).hexdigest()


_RESERVE_SQL = text(
    """
    SELECT pg_advisory_xact_lock(hashtextextended('sign-in user ' || :username, 0)),
           pg_advisory_xact_lock(hashtextextended('sign-in address ' || :address, 0))
    """
)


def _retry_after(db: Session, *, username: str, address: str, now: datetime) -> int:
    """Return the seconds until a new try is allowed (0: allowed now)."""
    since = now - FAILURE_WINDOW
    waits = []
    for column, value, limit in (
        (SignInFailure.username, username, MAX_FAILURES_PER_USER),
        (SignInFailure.address, address, MAX_FAILURES_PER_ADDRESS),
    ):
        times = db.scalars(
            select(SignInFailure.at)
            .where(column == value, SignInFailure.at > since)
            .order_by(SignInFailure.at.desc())
            .limit(limit)
        ).all()
        if len(times) >= limit:
            waits.append(int((times[-1] + FAILURE_WINDOW - now).total_seconds()) + 1)
    return max(waits, default=0)


def _reserve_try(db: Session, *, username: str, address: str) -> datetime:
    """Count the try as a failure before the password is checked, and commit it.

    Under the user name's and the address's locks (always taken in that order), the
    failures in the window are counted and, when both are under their limits, this try is
    added and committed: N concurrent tries, in any number of processes, check at most
    the limit's number of passwords, and the request's later rollback (a wrong password
    answers 401) keeps the count. It commits the request's transaction, on its own
    connection: a second connection per sign-in would let a burst of them take the whole
    pool. Nothing before it in a sign-in request is a change of the user's (a session's
    last use at most). A right password then deletes the user's failures.
    Raise SignInThrottled when a limit is reached. Return the try's time.
    """
    db.execute(_RESERVE_SQL, {"username": username, "address": address})
    now = db_now(db)
    wait = _retry_after(db, username=username, address=address, now=now)
    if wait:
        # Release the locks here, in this thread: held until the route's rollback, they
        # made every other try of the name wait for a thread that they themselves held
        # (100 concurrent tries starved the thread pool; half answered 503 after 60 s).
        db.rollback()
        raise SignInThrottled(wait)
    db.add(SignInFailure(username=username, address=address, at=now))
    db.commit()
    return now


def sign_in(
    db: Session, *, username: str, password: str, address: str
) -> tuple[SignedIn, str] | None:
    """Check the password and open a session; return it and the cookie's secret.

    A wrong password returns None. The try was already counted and committed
    (`_reserve_try`), so the request's rollback does not take it back.
    """
    username = username.strip()
    if not username:
        raise InvalidInput("username", say("sign-in.no-username", "enter your user name"))
    if not password:
        raise InvalidInput("password", say("sign-in.no-password", "enter your password"))
    username, address = username[:150], address[:64]
    now = _reserve_try(db, username=username, address=address)
    try:
        user = auth.verify_password(db, username=username, password=password)
    except KomawariError:
        return None
    db.execute(delete(SignInFailure).where(SignInFailure.username.in_({username, user.username})))
    secret = auth.new_secret(SESSION_PREFIX)
    row = WebSession(
        user_id=user.id,
        token_hash=auth.hash_secret(secret),
        expires_at=now + LIFETIME,
        last_seen_at=now,
        address=address,
    )
    db.add(row)
    user.last_sign_in_at = now
    db.flush()
    audit.record(
        db,
        actor=Actor("user", f"user:{user.username}", extra={"user_id": user.id}),
        action="web_session.sign_in",
        subject_type="user",
        subject_id=user.id,
        details={"web_session_id": row.id, "address": address},
    )
    return SignedIn(row.id, user), secret


def resolve(db: Session, secret: str | None) -> SignedIn | None:
    """Return the live session of a cookie's secret (and note its use), or None."""
    if not secret or not secret.startswith(SESSION_PREFIX) or len(secret) > 100:
        return None
    now = db_now(db)
    found = db.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(
            WebSession.token_hash == auth.hash_secret(secret),
            WebSession.ended_at.is_(None),
            WebSession.expires_at > now,
            WebSession.last_seen_at > now - IDLE_TIMEOUT,
            User.is_active.is_(True),
        )
    ).first()
    if found is None:
        return None
    row, user = found
    if now - row.last_seen_at > timedelta(minutes=1):  # one write a minute, not per request
        row.last_seen_at = now
    return SignedIn(row.id, user)


def principal(db: Session, signed_in: SignedIn) -> Principal:
    """Return the signed-in user as the caller the policy judges."""
    user = signed_in.user
    return Principal(
        user_id=user.id,
        username=user.username,
        role=user.role,
        token_id=None,
        branch_ids=frozenset(auth.user_branch_ids(db, user.id)),
        teacher_id=user.teacher_id,
        web_session_id=signed_in.session_id,
    )


def sign_out(db: Session, secret: str | None) -> None:
    """End the session of a cookie's secret (nothing happens for an unknown one)."""
    if not secret:
        return
    db.execute(
        update(WebSession)
        .where(WebSession.token_hash == auth.hash_secret(secret), WebSession.ended_at.is_(None))
        .values(ended_at=func.now())
    )


def end_all(db: Session, *, user_id: int) -> int:
    """End every open session of a user (disabled, or signed out everywhere)."""
    result = db.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
        .values(ended_at=func.now())
    )
    return int(getattr(result, "rowcount", 0) or 0)


def set_locale(db: Session, *, user_id: int, locale: str | None) -> None:
    """Set the language a user's pages are shown in (None: follow the browser)."""
    if locale is not None and locale not in LOCALES:
        raise InvalidInput("locale", unknown_locale(locale))
    user = db.get_one(User, user_id)
    user.locale = locale
    db.flush()


LOCALES = ("en", "ja")  # the languages of the pages (web/i18n.py: LOCALES)


def unknown_locale(locale: str) -> Say:
    """The refusal of a language the pages are not written in."""
    return say(
        "locale.unknown",
        "'%(locale)s' is not a language Komawari speaks: %(choices)s",
        locale=locale,
        choices=", ".join(LOCALES),
    )


def purge(db: Session) -> int:
    """Delete ended or expired sessions and old failures; return the sessions deleted."""
    now = db_now(db)
    db.execute(delete(SignInFailure).where(SignInFailure.at < now - FAILURE_WINDOW))
    result = db.execute(
        delete(WebSession).where(
            (WebSession.ended_at.is_not(None))
            | (WebSession.expires_at < now)
            | (WebSession.last_seen_at < now - IDLE_TIMEOUT)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
