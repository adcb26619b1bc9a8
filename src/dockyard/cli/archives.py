"""``dockyard export`` and ``dockyard import``: a finished job or screen as one archive.

Both work on this machine's store (the settings of ``dockyard serve``: ``--data-dir``,
``DOCKYARD_DATABASE_URL``) or, with ``--server``, through a running server's API
(``GET /api/jobs/{id}/archive.zip``, ``POST /api/archives``) with ``--token``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, BinaryIO

import httpx
import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from dockyard.cli.common import TokenOption, app, auth_headers, console, errors, fail
from dockyard.config import Settings, get_settings
from dockyard.errors import DockyardError
from dockyard.jobs.store import Store

RemoteOption = Annotated[
    str | None,
    typer.Option(
        "--server", envvar="DOCKYARD_SERVER", help="A running Dockyard, instead of this store."
    ),
]
DataDirOption = Annotated[
    Path | None, typer.Option(help="Where the local database lives [env: DOCKYARD_DATA_DIR].")
]
TRANSFER_TIMEOUT = httpx.Timeout(30, read=600)
"""A large import takes a while to check and store before the server answers."""


def _bar(counted: ProgressColumn) -> Progress:
    """A progress bar on stderr: files and ligands written here, or bytes received."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        counted,
        TimeElapsedColumn(),
        console=errors,
        transient=True,
    )


@contextlib.contextmanager
def _local_store(data_dir: Path | None) -> Iterator[tuple[Store, Settings]]:
    """This machine's store; a refusal is printed as a sentence, not a traceback."""
    settings = get_settings(data_dir=data_dir)
    store = Store.open(settings.resolved_database_url)
    try:
        yield store, settings
    except DockyardError as error:
        fail(error.message)
    finally:
        store.close()


def _refusal(response: httpx.Response, server: str) -> None:
    try:
        fail(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        fail(f"{server} answered {response.status_code}.")


def _unreachable(server: str, error: Exception) -> None:
    fail(f"cannot reach Dockyard at {server} ({error}); is `dockyard serve` running?")


@app.command("export")
def export_job(
    job_id: Annotated[int, typer.Argument(help="The job's or screen's id.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The archive to write (.zip).")],
    server: RemoteOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Write a finished job or screen as one archive: inputs, prepared files, parameters,
    provenance, every result and pose, and a README of the layout."""
    partial = out.with_name(out.name + ".part")
    try:
        counted = DownloadColumn() if server else MofNCompleteColumn()
        with partial.open("wb") as sink, _bar(counted) as bar:
            if server:
                _download(server, token, job_id, sink, bar)
            else:
                _export_here(data_dir, job_id, sink, bar)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    console.print(f"Wrote job {job_id} to {out} ({out.stat().st_size:,} bytes).", soft_wrap=True)


def _export_here(data_dir: Path | None, job_id: int, sink: BinaryIO, bar: Progress) -> None:
    from dockyard.jobs.archive import ArchiveExport

    with _local_store(data_dir) as (store, _settings):
        export = ArchiveExport.open(store, job_id)
        task = bar.add_task(f"job {job_id}: files and ligands", total=export.steps)
        for chunk in export.chunks(lambda steps: bar.advance(task, steps)):
            sink.write(chunk)


def _download(server: str, token: str | None, job_id: int, sink: BinaryIO, bar: Progress) -> None:
    url = f"{server.rstrip('/')}/api/jobs/{job_id}/archive.zip"
    task = bar.add_task(f"job {job_id}", total=None)
    try:
        with httpx.stream(
            "GET", url, headers=auth_headers(token), timeout=TRANSFER_TIMEOUT
        ) as response:
            if response.status_code >= 400:
                response.read()
                _refusal(response, server)
            for chunk in response.iter_bytes():
                sink.write(chunk)
                bar.advance(task, len(chunk))
    except httpx.HTTPError as error:
        _unreachable(server, error)


@app.command("import")
def import_job(
    archive: Annotated[Path, typer.Argument(help="An archive made by `dockyard export`.")],
    server: RemoteOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    user: Annotated[
        str | None,
        typer.Option("--user", help="On this machine's store: the user who will own the job."),
    ] = None,
) -> None:
    """Restore an archive as a new finished job (on a server: owned by the token's user)."""
    if not archive.is_file():
        fail(f"archive {archive} does not exist.")
    if server:
        if user:
            fail("--user is for this machine's store; on a server the job is the token's user's.")
        job_id = _upload(server, token, archive)
    else:
        job_id = _import_here(data_dir, archive, user)
    console.print(f"Imported {archive} as job {job_id}.", soft_wrap=True)


def _import_here(data_dir: Path | None, archive: Path, user: str | None) -> int:
    from dockyard.jobs.archive_import import ArchiveLimits, import_archive

    with _local_store(data_dir) as (store, settings), archive.open("rb") as stream:
        owner = store.accounts.user_named(user).id if user else None
        job = import_archive(
            store, stream, limits=ArchiveLimits.from_settings(settings), owner_id=owner
        )
        return job.id


def _upload(server: str, token: str | None, archive: Path) -> int:
    url = f"{server.rstrip('/')}/api/archives"
    try:
        with archive.open("rb") as stream:
            files = {"archive": (archive.name, stream, "application/zip")}
            response = httpx.post(
                url, files=files, headers=auth_headers(token), timeout=TRANSFER_TIMEOUT
            )
    except httpx.HTTPError as error:
        _unreachable(server, error)
    if response.status_code >= 400:
        _refusal(response, server)
    return response.json()["job_id"]
