"""``/api/me``: who the caller is, what they hold against their quotas, their own settings
(retention, where the ends of their jobs are notified) and their API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from annotated_types import Ge, Le
from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, BeforeValidator, Field, StrictBool

from dockyard.errors import InputError
from dockyard.jobs.models import ApiToken
from dockyard.jobs.notifications import NotificationSettings
from dockyard.web.auth import usage_of
from dockyard.web.deps import CurrentUser, SettingsDep, StoreDep
from dockyard.web.forms import update_notifications
from dockyard.web.schemas import error_responses
from dockyard.web.types import Id, Label

router = APIRouter(prefix="/api/me", tags=["accounts"], responses=error_responses(400, 404, 422))


class UsageInfo(BaseModel):
    active_jobs: int
    stored_bytes: int
    max_active_jobs: int | None
    max_screen_ligands: int | None
    max_stored_bytes: int | None


class Notifications(BaseModel):
    webhook_url: str | None
    """Where the end of each of their jobs that names no webhook of its own is POSTed."""
    email: str | None
    email_on_finish: bool
    """E-mail ``email`` when a job or screen of theirs completes, fails or is cancelled."""

    @classmethod
    def of(cls, settings: NotificationSettings) -> Notifications:
        return cls(**settings.__dict__)


class NotificationsChange(BaseModel):
    """The settings to change; a field left out stays as it is, an empty string clears it."""

    webhook_url: str | None = None
    email: str | None = None
    email_on_finish: StrictBool | None = None


class Me(BaseModel):
    name: str | None
    role: str
    single_user: bool
    """True while the server has no users: everyone is its anonymous admin."""
    usage: UsageInfo | None
    notifications: Notifications | None
    """Their notification settings (none in the single-user mode: per-job webhooks only)."""
    retention_days: int | None
    """Your own retention: days your finished jobs are kept (0: forever; null: the server's)."""
    default_retention_days: int
    """The server's retention (``DOCKYARD_RETENTION_DAYS``; 0: forever)."""


def _not_a_flag(value: object) -> object:
    """JSON's true and false are not numbers of days (pydantic would read them as 1 and 0)."""
    if isinstance(value, bool):
        raise ValueError("must be a number of days, not true or false")
    return value


Days = Annotated[int, Ge(0), Le(36_500), BeforeValidator(_not_a_flag)]


class MySettings(BaseModel):
    """What ``PUT /api/me`` changes."""

    retention_days: Days | None = Field(
        description="days finished jobs are kept; 0: forever; null: the server's"
    )


class TokenInfo(BaseModel):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenInfo:
        return cls(
            id=token.id,
            name=token.name,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )


class TokenCreated(TokenInfo):
    token: str
    """The secret, shown this once: only its hash is kept."""


def _user_id(viewer: CurrentUser, what: str = "no API tokens") -> int:
    if viewer.user_id is None:
        raise InputError(
            f"This server has no users yet, so there are {what}: create the first admin "
            "with `dockyard users add NAME --admin`.",
            code="no_users",
        )
    return viewer.user_id


@router.get("", response_model=Me)
def me(request: Request, viewer: CurrentUser, store: StoreDep, settings: SettingsDep) -> Me:
    """The caller, their role, their usage against their quotas, their retention and their
    notifications."""
    usage = usage_of(request)
    user = request.state.user
    notifications = None
    if viewer.user_id is not None:
        notifications = Notifications.of(store.notifications.settings_of(viewer.user_id))
    return Me(
        name=viewer.name or None,
        role="admin" if viewer.is_admin else "member",
        single_user=viewer.user_id is None,
        usage=UsageInfo(**usage.to_dict()) if usage else None,
        notifications=notifications,
        retention_days=user.retention_days if user is not None else None,
        default_retention_days=settings.retention_days,
    )


@router.put("", response_model=Me)
def change_me(
    request: Request, viewer: CurrentUser, store: StoreDep, settings: SettingsDep, body: MySettings
) -> Me:
    """Change your own settings: ``{"retention_days": 30}`` keeps your finished jobs 30 days,
    ``0`` forever, ``null`` as long as the server's setting says."""
    request.state.user = store.accounts.update_user(
        _user_id(viewer, "no personal settings"), retention_days=body.retention_days
    )
    return me(request, viewer, store, settings)


@router.put("/notifications", response_model=Notifications)
def change_notifications(
    viewer: CurrentUser, store: StoreDep, settings: SettingsDep, change: NotificationsChange
) -> Notifications:
    """Set the default webhook of the caller's jobs, their e-mail, and e-mail on finish."""
    user_id = _user_id(viewer, "no notification settings (give webhook_url per job)")
    changed = update_notifications(store, settings, user_id, change.model_dump(exclude_unset=True))
    return Notifications.of(changed)


@router.get("/tokens", response_model=list[TokenInfo])
def list_tokens(viewer: CurrentUser, store: StoreDep) -> list[TokenInfo]:
    return [TokenInfo.of(token) for token in store.accounts.list_tokens(_user_id(viewer))]


@router.post("/tokens", status_code=201, response_model=TokenCreated)
def create_token(
    viewer: CurrentUser, store: StoreDep, name: Annotated[Label, Body(embed=True)]
) -> TokenCreated:
    """A new API token; the answer holds its secret, which is never shown again."""
    token, secret = store.accounts.create_token(_user_id(viewer), name)
    return TokenCreated(**TokenInfo.of(token).model_dump(), token=secret)


@router.delete("/tokens/{token_id}", response_model=TokenInfo)
def revoke_token(token_id: Id, viewer: CurrentUser, store: StoreDep) -> TokenInfo:
    return TokenInfo.of(store.accounts.revoke_token(_user_id(viewer), token_id))
