"""Pages: users managed by an admin (`/users`), a one-time link that sets a password
(`/password/{secret}`), and a user's own page (`/me`: password and language)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from komawari.auth import accounts, web_sessions
from komawari.auth.accounts import IssuedLink
from komawari.auth.dependencies import AdminCaller, Me
from komawari.auth.enums import Role
from komawari.branches import service as branches
from komawari.config import get_settings
from komawari.errors import InvalidInput, KomawariError
from komawari.people.models import Teacher
from komawari.web import forms
from komawari.web.deps import Db
from komawari.web.pages import AnyPage, CsrfChecked, Page, UserPage
from komawari.web.routing import page_router
from komawari.words import say

router = page_router()
UserId = Annotated[int, Path(gt=0, le=2**63 - 1)]
Secret = Annotated[str, Path(max_length=100)]
ROLES = [r.value for r in Role]


async def _read_form(request: Request) -> dict[str, Any]:
    """The user form's fields as typed (shown again when the form is refused)."""
    form = await request.form()
    return {
        "username": str(form.get("username", "")).strip(),
        "role": str(form.get("role", "")),
        "branch_ids": [str(v) for v in form.getlist("branch_ids")],
        "teacher_id": str(form.get("teacher_id", "")),
    }


def _grants(fields: dict[str, Any]) -> tuple[Role, list[int], int | None]:
    """The role, branches and teacher the form asks for; a bad value is named."""
    role = next((r for r in Role if r.value == fields["role"]), None)
    if role is None:
        raise InvalidInput(
            "role", say("user.role-missing", "pick a role: admin, office staff or teacher")
        )
    try:
        branch_ids = [int(v) for v in fields["branch_ids"]]
    except ValueError:
        raise InvalidInput(
            "branch_ids", say("user.branch-not-listed", "pick branches from the list")
        ) from None
    teacher = str(fields["teacher_id"])
    if teacher and not teacher.isdigit():
        raise InvalidInput(
            "teacher_id", say("user.teacher-not-listed", "pick a teacher from the list")
        )
    return role, branch_ids, int(teacher) if teacher else None


def _choices(db: Db) -> dict[str, Any]:
    return {
        "roles": ROLES,
        "all_branches": [(b.id, b.name) for b in branches.list_branches(db, ids=None)],
        "teachers": db.execute(
            select(Teacher.id, Teacher.name).where(Teacher.active).order_by(Teacher.name)
        ).all(),
        "zone": get_settings().default_timezone,
    }


def _users(
    page: Page, db: Db, *, status: int = 200, fields: dict[str, Any] | None = None,
    errors: forms.Errors | None = None, issued: IssuedLink | None = None,
) -> Response:  # fmt: skip
    return page.render(
        "users.html",
        status,
        rows=accounts.overview(db),
        fields=fields or {"role": "staff", "branch_ids": []},
        errors=errors or {},
        issued=issued,
        **_choices(db),
    )


@router.get("/users")
def users_page(page: UserPage, who: AdminCaller, db: Db) -> Response:
    """List the users, with a form to add one."""
    return _users(page, db)


@router.post("/users", dependencies=[CsrfChecked])
async def create_user(request: Request, page: UserPage, who: AdminCaller, db: Db) -> Response:
    """Add a user; show their one-time set-password link, once."""
    fields = await _read_form(request)
    try:
        role, branch_ids, teacher_id = _grants(fields)
        issued = accounts.create(
            db,
            username=fields["username"],
            role=role,
            branch_ids=branch_ids,
            teacher_id=teacher_id,
            actor=who.actor,
        )
    except KomawariError as exc:
        forms.refused(db)
        return _users(page, db, status=exc.status_code, fields=fields,
                      errors=_field_error(exc, "username"))  # fmt: skip
    return _users(page, db, status=201, issued=issued)


def _field_error(exc: KomawariError, default: str) -> forms.Errors:
    if isinstance(exc, InvalidInput):
        return forms.errors(exc)
    return {str(exc.extra.get("field", default)): exc.words}


def _user(
    page: Page, db: Db, user_id: int, *, status: int = 200, fields: dict[str, Any] | None = None,
    errors: forms.Errors | None = None, issued: IssuedLink | None = None,
) -> Response:  # fmt: skip
    row = next((r for r in accounts.overview(db) if r.user.id == user_id), None)
    if row is None:
        accounts.get(db, user_id)  # raises NotFound
        raise AssertionError  # pragma: no cover
    if fields is None:
        fields = {
            "role": row.user.role.value,
            "branch_ids": [str(b) for b, _ in row.branches],
            "teacher_id": str(row.user.teacher_id or ""),
        }
    return page.render(
        "user_detail.html",
        status,
        row=row,
        fields=fields,
        errors=errors or {},
        issued=issued,
        done=page.request.query_params.get("done"),
        myself=page.user is not None and page.user.user.id == user_id,
        **_choices(db),
    )


@router.get("/users/{user_id}")
def user_page(user_id: UserId, page: UserPage, who: AdminCaller, db: Db) -> Response:
    """One user: role, branches and teacher, and what an admin can do for them."""
    return _user(page, db, user_id)


@router.post("/users/{user_id}", dependencies=[CsrfChecked])
async def update_user(
    user_id: UserId, request: Request, page: UserPage, who: AdminCaller, db: Db
) -> Response:
    """Save a user's role, branches and teacher."""
    fields = await _read_form(request)
    try:
        role, branch_ids, teacher_id = _grants(fields)
        accounts.update_grants(
            db, user_id=user_id, role=role, branch_ids=branch_ids, teacher_id=teacher_id,
            actor=who.actor,
        )  # fmt: skip
    except KomawariError as exc:
        forms.refused(db)
        return _user(page, db, user_id, status=exc.status_code, fields=fields,
                     errors=_field_error(exc, "role"))  # fmt: skip
    return RedirectResponse(f"/users/{user_id}?done=saved", status_code=303)


@router.post("/users/{user_id}/disable", dependencies=[CsrfChecked])
def disable_user(user_id: UserId, page: UserPage, who: AdminCaller, db: Db) -> Response:
    """Disable a user: their sessions and tokens end now."""
    try:
        accounts.disable(db, user_id=user_id, actor=who.actor)
    except KomawariError as exc:
        forms.refused(db)
        return _user(page, db, user_id, status=exc.status_code, errors={"user": exc.words})
    return RedirectResponse(f"/users/{user_id}?done=disabled", status_code=303)


@router.post("/users/{user_id}/enable", dependencies=[CsrfChecked])
def enable_user(user_id: UserId, who: AdminCaller, db: Db) -> Response:
    """Let a disabled user sign in again."""
    accounts.enable(db, user_id=user_id, actor=who.actor)
    return RedirectResponse(f"/users/{user_id}?done=enabled", status_code=303)


@router.post("/users/{user_id}/end-sessions", dependencies=[CsrfChecked])
def end_user_sessions(user_id: UserId, who: AdminCaller, db: Db) -> Response:
    """Sign the user out everywhere."""
    accounts.end_sessions(db, user_id=user_id, actor=who.actor)
    return RedirectResponse(f"/users/{user_id}?done=signed-out", status_code=303)


@router.post("/users/{user_id}/reset", dependencies=[CsrfChecked])
def reset_password(user_id: UserId, page: UserPage, who: AdminCaller, db: Db) -> Response:
    """End the user's password now; show a one-time link that sets a new one."""
    try:
        issued = accounts.reset(db, user_id=user_id, actor=who.actor)
    except KomawariError as exc:
        forms.refused(db)
        return _user(page, db, user_id, status=exc.status_code, errors={"user": exc.words})
    return _user(page, db, user_id, issued=issued)


@router.get("/password/{secret}")
def password_form(secret: Secret, page: AnyPage, db: Db) -> Response:
    """The form a one-time link opens (or why the link no longer works)."""
    user = accounts.link_user(db, secret)
    return page.render(
        "password_set.html", 200 if user else 404, secret=secret, link_user=user, errors={}
    )


@router.post("/password/{secret}", dependencies=[CsrfChecked])
def set_password(
    secret: Secret,
    page: AnyPage,
    db: Db,
    password: Annotated[str, Form(max_length=1000)] = "",
    repeat: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Set the password once; then the user signs in with it."""
    try:
        accounts.use_link(db, secret=secret, password=password, repeat=repeat)
    except KomawariError as exc:
        forms.refused(db)
        user = accounts.link_user(db, secret)
        errors = forms.errors(exc) if isinstance(exc, InvalidInput) else {}
        return page.render(
            "password_set.html", exc.status_code, secret=secret, link_user=user, errors=errors
        )
    return RedirectResponse("/sign-in?done=password", status_code=303)


@router.get("/me")
def me_page(page: UserPage, who: Me, db: Db) -> Response:
    """The signed-in user's own page: their password and their language."""
    return _me(page, db)


def _me(page: Page, db: Db, *, status: int = 200, errors: forms.Errors | None = None) -> Response:
    assert page.user is not None
    user = page.user.user
    return page.render(
        "me.html",
        status,
        errors=errors or {},
        done=page.request.query_params.get("done"),
        my_branches=[
            (b.id, b.name)
            for b in branches.list_branches(db, ids=None)
            if b.id in web_sessions.principal(db, page.user).branch_ids
        ]
        if user.role == Role.STAFF
        else [],
    )


@router.post("/me/password", dependencies=[CsrfChecked])
def change_password(
    page: UserPage,
    who: Me,
    db: Db,
    current: Annotated[str, Form(max_length=1000)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    repeat: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Change one's own password: every other session of one's own ends."""
    assert page.user is not None
    try:
        accounts.change_own(
            db, user_id=page.user.user.id, keep_session_id=page.user.session_id,
            current=current, password=password, repeat=repeat,
        )  # fmt: skip
    except KomawariError as exc:
        forms.refused(db)
        return _me(page, db, status=exc.status_code, errors=_field_error(exc, "password"))
    return RedirectResponse("/me?done=password", status_code=303)


@router.post("/me/language", dependencies=[CsrfChecked])
def my_language(
    page: UserPage, who: Me, db: Db, locale: Annotated[str, Form(max_length=8)] = ""
) -> Response:
    """Pick the pages' language, or follow the browser's."""
    assert page.user is not None
    if locale not in ("", "en", "ja"):
        raise InvalidInput(
            "locale",
            say(
                "locale.not-a-choice",
                "'%(locale)s' is not one of: the browser's, en, ja",
                locale=locale,
            ),
        )
    web_sessions.set_locale(db, user_id=page.user.user.id, locale=locale or None)
    return RedirectResponse("/me?done=language", status_code=303)
