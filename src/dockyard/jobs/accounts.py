"""Accounts of a shared server: users, API tokens, groups, shares, and who may see which job.

Passwords are hashed with Argon2 (pwdlib). API tokens are random 32-byte secrets, so only their
SHA-256 is stored: a database leak gives away no usable token and checking one costs nothing.

A :class:`Viewer` is whoever reads the store through the web: :func:`visible` and
:func:`writable` turn one into the ``WHERE`` clause every query of jobs for a person uses
(:func:`can_see` is the same rule for a job already read), so the rule of who sees what lives
here and nowhere else. A server with no users is in its
single-user mode: its one anonymous viewer is an admin and sees everything. The first admin
created claims every job stored without an owner (those of the single-user mode, and those
from before accounts existed).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pwdlib import PasswordHash
from sqlalchemy import ColumnElement, func, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dockyard.errors import ConflictError, InputError, NotFoundError
from dockyard.jobs.models import (
    ADMIN_ROLE,
    ROLES,
    ApiToken,
    Group,
    GroupMember,
    Job,
    JobFile,
    JobShare,
    JobStatus,
    ScreenLigand,
    User,
    utcnow,
)

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
TOKEN_PREFIX = "dy_"
LAST_USED_RESOLUTION = timedelta(minutes=1)
_passwords = PasswordHash.recommended()


@dataclass(frozen=True)
class Viewer:
    """Who is asking: a user (with their groups), or the single-user mode's anonymous admin."""

    user_id: int | None
    name: str
    is_admin: bool
    group_ids: frozenset[int] = frozenset()

    @classmethod
    def of(cls, user: User, group_ids: frozenset[int] = frozenset()) -> Viewer:
        return cls(user.id, user.name, user.is_admin, group_ids)


SINGLE_USER = Viewer(None, "", is_admin=True)
"""The viewer of a server without users (its zero-setup mode): every job is theirs."""


def visible(viewer: Viewer) -> ColumnElement[bool]:
    """Jobs ``viewer`` may read: their own, and those (or chunks of screens) shared with one of
    their groups; an admin reads all."""
    if viewer.is_admin:
        return true()
    shared = select(JobShare.job_id).where(JobShare.group_id.in_(viewer.group_ids))
    return or_(Job.owner_id == viewer.user_id, Job.id.in_(shared), Job.parent_id.in_(shared))


def can_see(viewer: Viewer, job: Job, shared_with: frozenset[int]) -> bool:
    """:func:`visible` for a job already read, with the groups it (or its screen) is shared
    with: how an event stream filters the changes its server read once for everyone."""
    return viewer.is_admin or job.owner_id == viewer.user_id or bool(shared_with & viewer.group_ids)


def writable(viewer: Viewer) -> ColumnElement[bool]:
    """Jobs ``viewer`` may cancel or delete: only their own (shares are read-only)."""
    return true() if viewer.is_admin else Job.owner_id == viewer.user_id


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_password() -> str:
    return secrets.token_urlsafe(12)


def _valid(name: str) -> bool:
    return NAME_PATTERN.match(name) is not None


def check_name(name: str, what: str = "name") -> str:
    if not _valid(name):
        raise InputError(
            f"{what} {name!r} must be 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit.",
            field="name",
        )
    return name


@dataclass(frozen=True)
class Usage:
    """What a user holds now, against the limits that apply to them (None: no limit)."""

    active_jobs: int
    stored_bytes: int
    max_active_jobs: int | None
    max_screen_ligands: int | None
    max_stored_bytes: int | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class AccountStore:
    """The writes and reads of users, tokens, groups and shares of one store."""

    def __init__(self, sessions: Callable[[], Session]):
        self.session = sessions

    # -- users ----------------------------------------------------------------------------

    def has_users(self) -> bool:
        with self.session() as session:
            return session.scalar(select(func.count()).select_from(User)) > 0

    def add_user(self, name: str, password: str, *, role: str = "member") -> User:
        """Create a user. The first admin also becomes the owner of every ownerless job."""
        check_name(name)
        if role not in ROLES:
            raise InputError(f"role must be one of {', '.join(ROLES)}.", field="role")
        user = User(
            name=name,
            role=role,
            password_hash=_passwords.hash(password),
            disabled=False,
            created_at=utcnow(),
        )
        try:
            with self.session() as session, session.begin():
                first_admin = role == ADMIN_ROLE and not session.scalar(
                    select(func.count()).select_from(User).where(User.role == ADMIN_ROLE)
                )
                session.add(user)
                session.flush()
                if first_admin:
                    session.execute(
                        update(Job).where(Job.owner_id.is_(None)).values(owner_id=user.id)
                    )
        except IntegrityError as error:
            raise ConflictError(f"There is already a user {name!r}.", field="name") from error
        return user

    def list_users(self) -> list[User]:
        with self.session() as session:
            return list(session.scalars(select(User).order_by(User.name)))

    def get_user(self, user_id: int) -> User:
        with self.session() as session:
            user = session.get(User, user_id)
        if user is None:
            raise NotFoundError(f"There is no user {user_id}.", field="user_id")
        return user

    def user_named(self, name: str) -> User:
        """The user of that name; a name no user can have is missing without a query."""
        with self.session() as session:
            user = session.scalar(select(User).where(User.name == name)) if _valid(name) else None
        if user is None:
            raise NotFoundError(f"There is no user {name!r}.", field="name")
        return user

    def update_user(self, user_id: int, **values: Any) -> User:
        """Change a user's role, ``disabled`` flag, password, quota or retention overrides."""
        allowed = {"role", "disabled", "max_active_jobs", "max_screen_ligands", "max_stored_bytes"}
        allowed.add("retention_days")
        if "password" in values:
            values["password_hash"] = _passwords.hash(values.pop("password"))
            allowed.add("password_hash")
        if unknown := set(values) - allowed:
            raise InputError(f"Cannot change {', '.join(sorted(unknown))}.", field=min(unknown))
        if values.get("role", ROLES[0]) not in ROLES:
            raise InputError(f"role must be one of {', '.join(ROLES)}.", field="role")
        with self.session() as session, session.begin():
            result = session.execute(update(User).where(User.id == user_id).values(**values))
        if result.rowcount == 0:
            raise NotFoundError(f"There is no user {user_id}.", field="user_id")
        return self.get_user(user_id)

    def check_password(self, name: str, password: str) -> User | None:
        """The enabled user ``name`` if ``password`` is theirs (always one hash of work)."""
        with self.session() as session:
            user = session.scalar(select(User).where(User.name == name))
        if user is None:
            _passwords.hash(password)
            return None
        if not _passwords.verify(password, user.password_hash) or user.disabled:
            return None
        return user

    def viewer(self, user: User) -> Viewer:
        query = select(GroupMember.group_id).where(GroupMember.user_id == user.id)
        with self.session() as session:
            return Viewer.of(user, frozenset(session.scalars(query)))

    # -- API tokens -----------------------------------------------------------------------

    def create_token(self, user_id: int, name: str) -> tuple[ApiToken, str]:
        """A new token of ``user_id``: the row, and the secret (shown once, never stored)."""
        self.get_user(user_id)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(
            user_id=user_id,
            name=name.strip()[:100] or "token",
            token_hash=hash_token(secret),
            created_at=utcnow(),
        )
        with self.session() as session, session.begin():
            session.add(token)
        return token, secret

    def list_tokens(self, user_id: int) -> list[ApiToken]:
        query = select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)
        with self.session() as session:
            return list(session.scalars(query))

    def revoke_token(self, user_id: int, token_id: int) -> ApiToken:
        """Revoke one of ``user_id``'s tokens (another user's answers as missing)."""
        with self.session() as session, session.begin():
            token = session.get(ApiToken, token_id)
            if token is None or token.user_id != user_id:
                raise NotFoundError(f"There is no token {token_id}.", field="token_id")
            if token.revoked_at is None:
                token.revoked_at = utcnow()
        return token

    def user_of_token(self, secret: str) -> User | None:
        """The enabled user a live token belongs to, noting when it was last used (to the
        minute: a script's every request is not a write)."""
        now = utcnow()
        with self.session() as session, session.begin():
            row = session.execute(
                select(ApiToken, User)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash == hash_token(secret), ApiToken.revoked_at.is_(None))
            ).first()
            if row is None or row.User.disabled:
                return None
            used = row.ApiToken.last_used_at
            if used is None or now - used > LAST_USED_RESOLUTION:
                row.ApiToken.last_used_at = now
            return row.User

    # -- groups and shares ----------------------------------------------------------------

    def add_group(self, name: str) -> Group:
        check_name(name, "group")
        group = Group(name=name, created_at=utcnow())
        try:
            with self.session() as session, session.begin():
                session.add(group)
        except IntegrityError as error:
            raise ConflictError(f"There is already a group {name!r}.", field="name") from error
        return group

    def group_named(self, name: str) -> Group:
        """The group of that name; a name no group can have is missing without a query."""
        with self.session() as session:
            group = (
                session.scalar(select(Group).where(Group.name == name)) if _valid(name) else None
            )
        if group is None:
            raise NotFoundError(f"There is no group {name!r}.", field="group")
        return group

    def list_groups(self) -> list[tuple[Group, list[str]]]:
        """Every group with its members' names."""
        query = (
            select(Group, User.name)
            .outerjoin(GroupMember, GroupMember.group_id == Group.id)
            .outerjoin(User, User.id == GroupMember.user_id)
            .order_by(Group.name, User.name)
        )
        groups: dict[int, tuple[Group, list[str]]] = {}
        with self.session() as session:
            for group, member in session.execute(query):
                entry = groups.setdefault(group.id, (group, []))
                if member is not None:
                    entry[1].append(member)
        return list(groups.values())

    def add_member(self, group_name: str, user_name: str) -> None:
        group, user = self.group_named(group_name), self.user_named(user_name)
        with self.session() as session, session.begin():
            session.merge(GroupMember(group_id=group.id, user_id=user.id))

    def remove_member(self, group_name: str, user_name: str) -> None:
        group, user = self.group_named(group_name), self.user_named(user_name)
        with self.session() as session, session.begin():
            row = session.get(GroupMember, (group.id, user.id))
            if row is not None:
                session.delete(row)

    def share(self, job_id: int, group_name: str) -> None:
        """Let ``group_name``'s members read job ``job_id`` (a screen: with its chunks)."""
        group = self.group_named(group_name)
        with self.session() as session, session.begin():
            session.merge(JobShare(job_id=job_id, group_id=group.id))

    def unshare(self, job_id: int, group_name: str) -> None:
        group = self.group_named(group_name)
        with self.session() as session, session.begin():
            row = session.get(JobShare, (job_id, group.id))
            if row is not None:
                session.delete(row)

    def shared_with(self, job_id: int) -> list[str]:
        query = (
            select(Group.name)
            .join(JobShare, JobShare.group_id == Group.id)
            .where(JobShare.job_id == job_id)
            .order_by(Group.name)
        )
        with self.session() as session:
            return list(session.scalars(query))

    # -- usage ----------------------------------------------------------------------------

    def usage(self, user: User, defaults: Usage) -> Usage:
        """What ``user`` holds now: unfinished top-level jobs and bytes stored by their jobs,
        with the limits that apply (their own overrides, else ``defaults``')."""
        active = select(func.count()).where(
            Job.owner_id == user.id,
            Job.parent_id.is_(None),
            Job.status.in_([JobStatus.PENDING, JobStatus.RUNNING]),
        )
        owned = select(Job.id).where(Job.owner_id == user.id)
        files = select(func.coalesce(func.sum(JobFile.size), 0)).where(JobFile.job_id.in_(owned))
        poses = select(func.coalesce(func.sum(func.length(ScreenLigand.poses_sdf)), 0)).where(
            ScreenLigand.screen_id.in_(owned)
        )
        with self.session() as session:
            active_jobs = session.scalar(active) or 0
            stored = (session.scalar(files) or 0) + (session.scalar(poses) or 0)

        def limit(name: str) -> int | None:
            own = getattr(user, name)
            return own if own is not None else getattr(defaults, name)

        return Usage(
            active_jobs=int(active_jobs),
            stored_bytes=int(stored),
            max_active_jobs=limit("max_active_jobs"),
            max_screen_ligands=limit("max_screen_ligands"),
            max_stored_bytes=limit("max_stored_bytes"),
        )
