"""``dockyard serve``: the web app, the API and the local job runner."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dockyard.cli.common import app, console, fail
from dockyard.config import Settings, get_settings

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
SHUTDOWN_GRACE_SECONDS = 5.0
"""How long a stopping server waits for its open requests: live streams (whose browsers
reconnect by themselves) and slow clients would otherwise hold it, and its jobs' hand-back,
for as long as they stay connected."""


def refuse_exposed_single_user(host: str, settings: Settings) -> None:
    """Without users anyone who reaches the server is its admin: fine on this machine only."""
    if host in LOOPBACK_NAMES or host.startswith("127."):
        return
    from dockyard.jobs.store import Store

    store = Store.open(settings.resolved_database_url, wait_seconds=settings.database_wait_seconds)
    try:
        has_users = store.accounts.has_users()
    finally:
        store.close()
    if not has_users:
        fail(
            f"refusing to serve on {host}: this server has no users, so anyone who can reach it "
            "could run and delete jobs. Create the first admin first — "
            "`dockyard users add NAME --admin` (it prints a one-time password) — "
            "or serve on 127.0.0.1."
        )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5000,
    data_dir: Annotated[
        Path | None, typer.Option(help="Where the database lives [env: DOCKYARD_DATA_DIR].")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Jobs run at once [default: half the cores].")
    ] = None,
) -> None:
    """Run the web app, the API and the local job runner."""
    import uvicorn

    from dockyard.web.app import create_app
    from dockyard.web.assets import missing_assets

    settings = get_settings(data_dir=data_dir, workers=workers)
    refuse_exposed_single_user(host, settings)
    runs = (
        "jobs go to `dockyard worker` processes through Redis"
        if settings.redis_url
        else f"{settings.workers} local worker(s)"
    )
    console.print(
        f"Dockyard on [bold]http://{host}:{port}[/] — data in {settings.data_dir.resolve()}, {runs}"
    )
    if missing := missing_assets():
        console.print(
            f"[yellow]Browser assets missing ({', '.join(missing)}): the 3D viewer and plots "
            "will not load. In a checkout run `bash scripts/assets.sh`, or install a wheel.[/]"
        )
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="info",
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )
