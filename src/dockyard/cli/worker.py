"""``dockyard worker`` and ``dockyard migrate``: the scale-out side of Dockyard.

A worker takes job ids from Redis (RQ) and runs them against the shared database; start as
many as there are cores, on as many machines as reach Redis and the database.
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from dockyard.cli.common import app, console, fail
from dockyard.config import get_settings, require_extra
from dockyard.errors import DockyardError


@app.command()
def worker(
    queues: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated RQ queues to take jobs from, by priority "
            "(default: DOCKYARD_QUEUE, then DOCKYARD_QUEUE-bulk for screen chunks)."
        ),
    ] = None,
    burst: Annotated[
        bool, typer.Option("--burst", help="Quit once the queues are empty instead of waiting.")
    ] = False,
) -> None:
    """Run jobs from the Redis queue (needs DOCKYARD_REDIS_URL and DOCKYARD_DATABASE_URL)."""
    settings = get_settings()
    if not settings.redis_url:
        fail("set DOCKYARD_REDIS_URL: a worker takes its jobs from Redis.")
    try:
        require_extra("queue", "dockyard worker takes its jobs from Redis")
    except DockyardError as error:
        fail(error.message)
    if not settings.database_url:
        console.print(
            "[yellow]warning:[/] DOCKYARD_DATABASE_URL is not set; using the SQLite file in "
            f"{settings.data_dir.resolve()}, which only workers on this machine can share."
        )
    from dockyard.runners.rq.queue import worker_queue_names

    names = (
        [name.strip() for name in queues.split(",") if name.strip()]
        if queues
        else worker_queue_names(settings.queue)
    )
    if not names:
        fail("give at least one queue name.")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("rq").propagate = False  # RQ logs through its own handler
    logging.getLogger("alembic").setLevel(logging.WARNING)

    from dockyard.runners.rq.worker import run_worker

    run_worker(settings, names, burst=burst)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (safe to run from several places at once)."""
    from dockyard.jobs.store import Store

    settings = get_settings()
    store = Store.open(settings.resolved_database_url, wait_seconds=settings.database_wait_seconds)
    store.close()
    console.print(f"Database schema up to date at {store.engine.url.render_as_string()}")
