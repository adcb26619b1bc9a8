"""Who is asking, and whether they may: sessions, API tokens, CSRF and per-job access.

Safe by default. A server without users is in the single-user mode: every request is the
anonymous admin's (``dockyard serve`` refuses a non-loopback address in that mode). Once any
user exists, every request needs a signed session cookie or an ``Authorization: Bearer``
token, except the health check, the login page and the static files; ``/metrics`` checks its
own (an admin, or the scraper's ``DOCKYARD_METRICS_TOKEN``).

Every router but those is included with :data:`GATE`: it resolves the viewer, checks
the CSRF token of a cookie-authenticated request that changes something, and loads the job
any ``job_id``/``screen_id`` (path) or ``clone``/``parent``/``job_id`` (query) names *as that
viewer* — another user's job answers 404 on every path, before any route body runs. Lists
and the event stream pass the viewer to the store's queries.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from starlette.middleware.sessions import SessionMiddleware

from dockyard.config import Settings
from dockyard.errors import (
    AuthenticationError,
    FileTooLargeError,
    ForbiddenError,
    NotFoundError,
    QuotaError,
)
from dockyard.jobs.accounts import SINGLE_USER, Usage, Viewer
from dockyard.jobs.models import INTEGER_MAX, User
from dockyard.jobs.store import Store
from dockyard.web.errors import error_response

SESSION_COOKIE = "dockyard_session"
SESSION_DAYS = 14
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
JOB_PARAMETERS = (("path", "job_id"), ("path", "screen_id"), ("query", "clone"))
JOB_PARAMETERS += (("query", "parent"), ("query", "job_id"))
"""Where a request names a job: each is loaded as the viewer before the route runs."""

bearer_scheme = HTTPBearer(
    auto_error=False, description="An API token: `dockyard tokens create`, or the tokens page."
)
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="The session of the login page."
)


def secret_key(settings: Settings) -> str:
    """``DOCKYARD_SECRET_KEY``, or a key generated once and kept in the data dir."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _store(request: Request) -> Store:
    return request.app.state.store


def users_exist(request: Request) -> bool:
    """Whether the single-user mode is over; once it is, it stays over (users are only ever
    disabled), so only the answer "no" is asked again."""
    state = request.app.state
    if not getattr(state, "users_exist", False):
        state.users_exist = _store(request).accounts.has_users()
    return state.users_exist


def _user(request: Request, bearer: HTTPAuthorizationCredentials | None) -> User | None:
    accounts = _store(request).accounts
    if bearer is not None:
        user = accounts.user_of_token(bearer.credentials)
        if user is None:
            raise AuthenticationError("This API token is not valid, or it has been revoked.")
        request.state.via = "token"
        return user
    user_id = request.session.get("user_id")
    if user_id is None:
        return None
    try:
        user = accounts.get_user(user_id)
    except NotFoundError:
        user = None  # a session signed for another database with the same key
    if user is None or user.disabled:
        request.session.clear()
        return None
    request.state.via = "session"
    return user


def current_viewer(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    _cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> Viewer:
    """The viewer of this request: a user, or the single-user mode's anonymous admin."""
    request.state.via = None
    user = _user(request, bearer)
    if user is None:
        if users_exist(request):
            raise AuthenticationError("Log in, or send an API token: Authorization: Bearer …")
        request.state.user = None
        return SINGLE_USER
    request.state.user = user
    return _store(request).accounts.viewer(user)


CurrentUser = Annotated[Viewer, Depends(current_viewer)]


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use: pages put it in forms and a meta tag."""
    token = request.session.get("csrf")
    if token is None:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


async def check_csrf(request: Request) -> None:
    """A request that changes something with the session cookie carries the session's token,
    in a header (the pages' scripts) or a form field (the pages' forms)."""
    expected = request.session.get("csrf")
    given = request.headers.get(CSRF_HEADER)
    if given is None and "form" in request.headers.get("content-type", ""):
        given = (await request.form()).get(CSRF_FIELD)
    if not expected or not isinstance(given, str) or not secrets.compare_digest(given, expected):
        raise ForbiddenError(
            "This form is out of date or came from another site (CSRF token missing or wrong); "
            "reload the page and try again.",
            code="csrf_failed",
        )


async def csrf_guard(request: Request, viewer: CurrentUser) -> None:
    if request.method not in SAFE_METHODS and request.state.via == "session":
        await check_csrf(request)


def authorize(request: Request, viewer: CurrentUser) -> None:
    """Load each job the request names as its viewer: a job not theirs to see is missing."""
    store = _store(request)
    write = request.method not in SAFE_METHODS
    for where, name in JOB_PARAMETERS:
        params = request.path_params if where == "path" else request.query_params
        value = params.get(name)
        if value is not None and str(value).isdigit() and 0 < int(value) <= INTEGER_MAX:
            store.job_for(viewer, int(value), write=write, field=name)


GATE = [Depends(csrf_guard), Depends(authorize)]
"""The dependencies of every router that needs a viewer (all but health, login, static)."""


@dataclass(frozen=True)
class Submitter:
    """Who a new job belongs to, once their quotas allowed it."""

    owner_id: int | None
    max_screen_ligands: int | None


def default_limits(settings: Settings) -> Usage:
    return Usage(
        0, 0, settings.max_active_jobs, settings.max_screen_ligands, settings.max_stored_bytes
    )


def submitter(request: Request, viewer: CurrentUser) -> Submitter:
    """The owner of a job about to be submitted, refused when over a quota."""
    usage = usage_of(request)
    if usage is None:
        return Submitter(None, None)
    if usage.max_active_jobs is not None and usage.active_jobs >= usage.max_active_jobs:
        raise QuotaError(
            f"You have {usage.active_jobs} pending or running jobs, the most you may have at "
            "once; wait for one to finish, or cancel one.",
            field="max_active_jobs",
        )
    check_stored_bytes(usage)
    return Submitter(viewer.user_id, usage.max_screen_ligands)


def check_stored_bytes(usage: Usage | None) -> None:
    """Refuse to store more for a user whose jobs already fill their storage quota."""
    if usage is None or usage.max_stored_bytes is None:
        return
    if usage.stored_bytes >= usage.max_stored_bytes:
        raise FileTooLargeError(
            f"Your jobs store {usage.stored_bytes} bytes, the most you may store is "
            f"{usage.max_stored_bytes}; delete jobs you no longer need to free space.",
            field="max_stored_bytes",
            code="storage_quota_exceeded",
        )


SubmitterDep = Annotated[Submitter, Depends(submitter)]


def usage_of(request: Request) -> Usage | None:
    """The caller's usage against their limits (None in the single-user mode)."""
    user: User | None = request.state.user
    if user is None:
        return None
    return _store(request).accounts.usage(user, default_limits(request.app.state.settings))


async def _not_authenticated(request: Request, error: AuthenticationError) -> Response:
    """Pages send a person to the login page; the API answers 401 naming the schemes."""
    wants_page = "text/html" in request.headers.get("accept", "")
    if not request.url.path.startswith("/api") and wants_page:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    response = error_response(request, 401, error.code, error.message, None)
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


def install_auth(app: FastAPI, settings: Settings) -> None:
    """Signed, HttpOnly, SameSite=Lax session cookies (``Secure`` when the server is reached
    over HTTPS), and the 401 answers."""
    app.add_exception_handler(AuthenticationError, _not_authenticated)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret_key(settings),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_DAYS * 24 * 3600,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.state.templates.env.globals["csrf_token"] = csrf_token
