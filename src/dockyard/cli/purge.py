"""``dockyard purge``: delete old finished jobs by hand, whatever the retention settings.

Runs on the server machine, on its database (the same settings as ``dockyard serve``), in
the same small batches as the reaper, so a running server goes on answering meanwhile.
Pinned jobs and jobs that are pending or running are never touched.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dockyard.cli.common import app, console, fail, progress_bar
from dockyard.config import get_settings
from dockyard.errors import DockyardError
from dockyard.jobs.models import utcnow
from dockyard.jobs.retention import Freed
from dockyard.jobs.store import Store

DURATION = re.compile(r"(?P<amount>[1-9][0-9]{0,5})(?P<unit>[dh])")
UNITS = {"d": "days", "h": "hours"}


def parse_duration(text: str) -> timedelta:
    """``30d`` or ``12h``; anything else is refused with a sentence saying what is accepted."""
    match = DURATION.fullmatch(text.strip())
    if match is None:
        raise typer.BadParameter(
            f"{text!r} is not a duration: give a whole number of days or hours, e.g. 30d or 12h.",
            param_hint="--older-than",
        )
    return timedelta(**{UNITS[match["unit"]]: int(match["amount"])})


def human_bytes(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def freed_table(freed: Freed, title: str) -> Table:
    table = Table(title=title)
    table.add_column("")
    table.add_column("count", justify="right")
    table.add_row("jobs (screens with their chunks)", str(freed.jobs))
    table.add_row("stored files", str(freed.files))
    table.add_row("screen ligands", str(freed.ligands))
    table.add_row("bytes of files and poses", f"{freed.bytes} ({human_bytes(freed.bytes)})")
    return table


@app.command()
def purge(
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than",
            help="Purge finished jobs that finished longer ago than this: 30d, 12h.",
            show_default=False,
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what would be purged.")
    ] = False,
    vacuum: Annotated[
        bool,
        typer.Option(
            "--vacuum",
            help="Then give the space back: SQLite VACUUM; PostgreSQL VACUUM (ANALYZE).",
        ),
    ] = False,
    batch: Annotated[int, typer.Option(min=1, help="Jobs deleted per transaction.")] = 200,
    data_dir: Annotated[
        Path | None, typer.Option(help="Where the database lives [env: DOCKYARD_DATA_DIR].")
    ] = None,
) -> None:
    """Delete finished, unpinned jobs older than --older-than, with their files, and print
    what that frees."""
    age = parse_duration(older_than)
    store = Store.open(get_settings(data_dir=data_dir).resolved_database_url)
    try:
        retention = store.retention
        which = retention.finished_before(utcnow() - age)
        total = retention.count(which)
        before = retention.database_bytes()
        with progress_bar() as bar:
            task = bar.add_task("Measuring" if dry_run else "Purging", total=total)
            freed = retention.purge(
                which,
                batch=batch,
                dry_run=dry_run,
                progress=lambda part: bar.advance(task, part.jobs),
            )
        title = "Would be freed (dry run)" if dry_run else "Freed"
        console.print(freed_table(freed, f"{title}: jobs finished over {older_than} ago"))
        if vacuum and not dry_run:
            console.print(retention.vacuum())
        elif not dry_run and freed.jobs:
            console.print(
                "The rows are gone; PostgreSQL's autovacuum reuses their space, and "
                "`--vacuum` shrinks a SQLite file."
            )
        if not dry_run:
            after = retention.database_bytes()
            console.print(f"Database: {human_bytes(before)} before, {human_bytes(after)} now.")
    except DockyardError as error:
        fail(error.message)
    finally:
        store.close()
