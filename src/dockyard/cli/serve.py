"""``dockyard serve``: the web app, the API and the local job runner."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dockyard.cli.common import app, console
from dockyard.config import get_settings


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
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
