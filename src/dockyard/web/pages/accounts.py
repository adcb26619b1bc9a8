"""The account pages: logging in and out, one's usage, API tokens and notifications, and the
admin's users.

Every form posts with the session's CSRF token in a hidden field (:func:`dockyard.web.auth.
check_csrf` checks it). A member asking for the admin page finds nothing there (404).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dockyard.errors import InputError, NotFoundError
from dockyard.jobs.accounts import new_password
from dockyard.jobs.models import ADMIN_ROLE, ROLES
from dockyard.web.auth import check_csrf, csrf_token, usage_of
from dockyard.web.deps import CurrentUser, SettingsDep, StoreDep
from dockyard.web.forms import update_notifications
from dockyard.web.pages.render import render

login_router = APIRouter(include_in_schema=False)
"""The one page anyone may open: the login form."""
router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a path on this server: never an open redirect to another site."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/jobs"


@login_router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    csrf_token(request)
    return render(request, "login.html", next=_safe_next(next), error=None)


@login_router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    store: StoreDep,
    name: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str | None, Form()] = None,
) -> Response:
    """Check the password; a new session (and CSRF token) on success."""
    await check_csrf(request)
    user = store.accounts.check_password(name, password)
    if user is None:
        page = render(request, "login.html", next=_safe_next(next), error="Wrong name or password.")
        page.status_code = 401
        return page
    request.session.clear()
    request.session["user_id"] = user.id
    csrf_token(request)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def _account_page(
    request: Request, store: StoreDep, viewer: CurrentUser, **extra: object
) -> HTMLResponse:
    tokens = store.accounts.list_tokens(viewer.user_id) if viewer.user_id is not None else []
    notifications = None
    if viewer.user_id is not None:
        notifications = store.notifications.settings_of(viewer.user_id)
    usage = usage_of(request)
    return render(
        request,
        "account.html",
        viewer=viewer,
        usage=usage,
        tokens=tokens,
        notifications=notifications,
        user=request.state.user,
        default_retention_days=request.app.state.settings.retention_days,
        **extra,
    )


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, store: StoreDep, viewer: CurrentUser) -> HTMLResponse:
    """Usage against the quotas, and the API tokens."""
    return _account_page(request, store, viewer, new_token=None)


@router.post("/account/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    store: StoreDep,
    viewer: CurrentUser,
    name: Annotated[str, Form(max_length=100)] = "",
) -> HTMLResponse:
    """The new token's secret is on this answer only."""
    if viewer.user_id is None:
        raise NotFoundError("There are no accounts on this server yet.")
    _, secret = store.accounts.create_token(viewer.user_id, name)
    return _account_page(request, store, viewer, new_token=secret)


@router.post("/account/retention")
def set_retention(
    store: StoreDep,
    viewer: CurrentUser,
    retention_days: Annotated[int | None, Form(ge=0, le=36_500)] = None,
) -> RedirectResponse:
    """Days one's finished jobs are kept (0: forever; empty: the server's setting)."""
    if viewer.user_id is None:
        raise NotFoundError("There are no accounts on this server yet.")
    store.accounts.update_user(viewer.user_id, retention_days=retention_days)
    return RedirectResponse("/account#retention-title", status_code=303)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(token_id: int, store: StoreDep, viewer: CurrentUser) -> RedirectResponse:
    if viewer.user_id is None:
        raise NotFoundError("There are no accounts on this server yet.")
    store.accounts.revoke_token(viewer.user_id, token_id)
    return RedirectResponse("/account", status_code=303)


@router.post("/account/notifications")
def change_notifications(
    store: StoreDep,
    settings: SettingsDep,
    viewer: CurrentUser,
    webhook_url: Annotated[str, Form(max_length=2000)] = "",
    email: Annotated[str, Form(max_length=254)] = "",
    email_on_finish: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    """The default webhook of one's jobs, one's e-mail, and whether to e-mail on finish."""
    if viewer.user_id is None:
        raise NotFoundError("There are no accounts on this server yet.")
    given = {"webhook_url": webhook_url, "email": email, "email_on_finish": email_on_finish}
    update_notifications(store, settings, viewer.user_id, given)
    return RedirectResponse("/account", status_code=303)


def _require_admin(viewer: CurrentUser) -> None:
    if not viewer.is_admin:
        raise NotFoundError("There is no such page.")


def _admin_page(request: Request, store: StoreDep, **extra: object) -> HTMLResponse:
    return render(
        request,
        "admin.html",
        users=store.accounts.list_users(),
        groups=store.accounts.list_groups(),
        roles=ROLES,
        **extra,
    )


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, store: StoreDep, viewer: CurrentUser) -> HTMLResponse:
    """The users: add one, change their role, quotas, or disable them."""
    _require_admin(viewer)
    return _admin_page(request, store, created=None)


@router.post("/admin/users", response_class=HTMLResponse)
def add_user(
    request: Request,
    store: StoreDep,
    viewer: CurrentUser,
    name: Annotated[str, Form()],
    role: Annotated[str, Form()] = "member",
) -> HTMLResponse:
    """A new user with a one-time password, shown on this answer only. In the single-user mode
    the first user must be an admin, and whoever made them is logged in as them: the server
    requires a login from then on, and must not lock out the person who set it up."""
    _require_admin(viewer)
    if viewer.user_id is None and role != ADMIN_ROLE:
        raise InputError(
            "The first user of a server must be an admin: from then on every request needs a "
            "login, and someone has to manage the others.",
            field="role",
        )
    password = new_password()
    user = store.accounts.add_user(name, password, role=role)
    request.app.state.users_exist = True
    if viewer.user_id is None:
        request.session["user_id"] = user.id
    return _admin_page(request, store, created=(user.name, password))


@router.post("/admin/users/{user_id}")
def update_user(
    user_id: int,
    store: StoreDep,
    viewer: CurrentUser,
    role: Annotated[str, Form()],
    disabled: Annotated[bool, Form()] = False,
    max_active_jobs: Annotated[int | None, Form(ge=1)] = None,
    max_screen_ligands: Annotated[int | None, Form(ge=1)] = None,
    max_stored_bytes: Annotated[int | None, Form(ge=1)] = None,
) -> RedirectResponse:
    """Role, disabled, and quota overrides (empty: the server's setting)."""
    _require_admin(viewer)
    store.accounts.update_user(
        user_id,
        role=role,
        disabled=disabled,
        max_active_jobs=max_active_jobs,
        max_screen_ligands=max_screen_ligands,
        max_stored_bytes=max_stored_bytes,
    )
    return RedirectResponse("/admin", status_code=303)
