"""``dockyard users``, ``dockyard tokens`` and ``dockyard groups``: the accounts of a server.

``users`` and ``groups`` run on the server machine, on its database (the same settings as
``dockyard serve``). ``tokens`` does too with ``--user NAME`` (an admin making a token for
someone); without it, it asks the running server for the caller's own tokens, authenticated by
``--token`` or ``DOCKYARD_TOKEN``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dockyard.cli.common import DEFAULT_SERVER, ServerOption, TokenOption, app, console, fail
from dockyard.cli.remote import request
from dockyard.config import get_settings
from dockyard.errors import DockyardError
from dockyard.jobs.accounts import new_password
from dockyard.jobs.retention import check_days
from dockyard.jobs.store import Store

users_app = typer.Typer(help="The users of this server (run on the server machine).")
tokens_app = typer.Typer(help="API tokens: for scripts and for the commands that talk to a server.")
groups_app = typer.Typer(help="Groups, and the jobs shared read-only with them.")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(groups_app, name="groups")

DataDirOption = Annotated[
    Path | None, typer.Option(help="Where the database lives [env: DOCKYARD_DATA_DIR].")
]
UserOption = Annotated[
    str | None,
    typer.Option("--user", help="On the server machine: the user whose tokens these are."),
]


def _run(data_dir: Path | None, action: Callable[[Store], None]) -> None:
    """Run ``action`` on the server's database (the settings of `serve`); a refusal is
    printed as a sentence, not a traceback."""
    store = Store.open(get_settings(data_dir=data_dir).resolved_database_url)
    try:
        action(store)
    except DockyardError as error:
        fail(error.message)
    finally:
        store.close()


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


@users_app.command("add")
def add_user(
    name: Annotated[str, typer.Argument(help="The user's name.")],
    admin: Annotated[bool, typer.Option("--admin", help="An admin sees and manages all.")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Create a user and print their one-time password. The first admin owns the jobs that
    were stored before there were users."""
    password = new_password()

    def action(store: Store) -> None:
        user = store.accounts.add_user(name, password, role="admin" if admin else "member")
        console.print(f"Created {user.role} [bold]{user.name}[/]. One-time password:")
        console.print(password, markup=False, highlight=False)

    _run(data_dir, action)


@users_app.command("list")
def list_users(data_dir: DataDirOption = None) -> None:
    """Every user, their role and whether they are disabled."""

    def action(store: Store) -> None:
        table = Table(title="Users")
        for column in ("name", "role", "disabled", "created"):
            table.add_column(column)
        for user in store.accounts.list_users():
            table.add_row(
                user.name, user.role, "yes" if user.disabled else "", _when(user.created_at)
            )
        console.print(table)

    _run(data_dir, action)


@users_app.command("password")
def reset_password(name: str, data_dir: DataDirOption = None) -> None:
    """Give a user a new one-time password."""
    password = new_password()

    def action(store: Store) -> None:
        store.accounts.update_user(store.accounts.user_named(name).id, password=password)
        console.print(password, markup=False, highlight=False)

    _run(data_dir, action)


def _retention(text: str) -> int | None:
    """``--retention-days``: a number of days (0: forever), or ``server`` for the default."""
    if text == "server":
        return None
    if not text.isdigit():
        raise typer.BadParameter(
            f"{text!r}: give a number of days (0 keeps their jobs forever), or 'server' for "
            "the server's setting.",
            param_hint="--retention-days",
        )
    return int(text)


@users_app.command("set")
def set_user(
    name: str,
    retention_days: Annotated[
        str | None,
        typer.Option(
            help="Days their finished jobs are kept (0: forever; 'server': the server's).",
            show_default=False,
        ),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Change a user's own settings."""
    if retention_days is None:
        fail("nothing to change: give --retention-days N.")
    days = _retention(retention_days)

    def action(store: Store) -> None:
        user = store.accounts.user_named(name)
        user = store.accounts.update_user(user.id, retention_days=check_days(days))
        kept = (
            "the server's setting" if days is None else "forever" if days == 0 else f"{days} days"
        )
        console.print(f"{user.name}'s finished jobs are kept {kept}.")

    _run(data_dir, action)


@tokens_app.command("create")
def create_token(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. 'laptop'.")] = "cli",
    user: UserOption = None,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create a token and print it, once: use it as DOCKYARD_TOKEN."""
    if user is None:
        created = request("POST", server, "/api/me/tokens", token, json={"name": name})
        console.print(created["token"], markup=False, highlight=False)
        return

    def action(store: Store) -> None:
        _, secret = store.accounts.create_token(store.accounts.user_named(user).id, name)
        console.print(secret, markup=False, highlight=False)

    _run(data_dir, action)


def _minute(timestamp: str | None) -> str:
    """An ISO timestamp to the minute, as people read it ("2026-12-01 14:05")."""
    return (timestamp or "")[:16].replace("T", " ")


def _token_rows(rows: list[dict]) -> None:
    table = Table(title="API tokens")
    for column in ("id", "name", "created", "last used", "revoked"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["name"],
            _minute(row["created_at"]),
            _minute(row["last_used_at"]),
            _minute(row["revoked_at"]),
        )
    console.print(table)


@tokens_app.command("list")
def list_tokens(
    user: UserOption = None,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """The tokens (never their secrets), with when each was last used."""
    if user is None:
        _token_rows(request("GET", server, "/api/me/tokens", token))
        return

    def action(store: Store) -> None:
        rows = store.accounts.list_tokens(store.accounts.user_named(user).id)
        _token_rows(
            [
                {
                    "id": row.id,
                    "name": row.name,
                    "created_at": row.created_at.isoformat(),
                    "last_used_at": row.last_used_at and row.last_used_at.isoformat(),
                    "revoked_at": row.revoked_at and row.revoked_at.isoformat(),
                }
                for row in rows
            ]
        )

    _run(data_dir, action)


@tokens_app.command("revoke")
def revoke_token(
    token_id: Annotated[int, typer.Argument(help="The token's id (see `dockyard tokens list`).")],
    user: UserOption = None,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Revoke a token: requests with it answer 401 from now on."""
    if user is None:
        request("DELETE", server, f"/api/me/tokens/{token_id}", token)
        console.print(f"Revoked token {token_id}.")
        return

    def action(store: Store) -> None:
        store.accounts.revoke_token(store.accounts.user_named(user).id, token_id)
        console.print(f"Revoked token {token_id}.")

    _run(data_dir, action)


@groups_app.command("add")
def add_group(
    name: str,
    members: Annotated[list[str] | None, typer.Argument(help="Users to put in it.")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create a group, or add members to one that exists."""

    def action(store: Store) -> None:
        try:
            store.accounts.group_named(name)
        except DockyardError:
            store.accounts.add_group(name)
        for member in members or []:
            store.accounts.add_member(name, member)
        console.print(f"Group {name}: {', '.join(members or []) or 'no one added'}.")

    _run(data_dir, action)


@groups_app.command("remove")
def remove_member(name: str, member: str, data_dir: DataDirOption = None) -> None:
    """Take a user out of a group."""
    _run(data_dir, lambda store: store.accounts.remove_member(name, member))


@groups_app.command("list")
def list_groups(data_dir: DataDirOption = None) -> None:
    def action(store: Store) -> None:
        for group, members in store.accounts.list_groups():
            console.print(f"{group.name}: {', '.join(members) or 'no members'}")

    _run(data_dir, action)


@groups_app.command("share")
def share(
    job_id: Annotated[int, typer.Argument(help="A job or screen.")],
    group: str,
    undo: Annotated[bool, typer.Option("--undo", help="Stop sharing it.")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Let a group's members read a job or screen (never cancel or delete it)."""

    def action(store: Store) -> None:
        store.get_job(job_id)
        if undo:
            store.accounts.unshare(job_id, group)
        else:
            store.accounts.share(job_id, group)
        groups = ", ".join(store.accounts.shared_with(job_id)) or "no group"
        console.print(f"Job {job_id} is shared with: {groups}.")

    _run(data_dir, action)
