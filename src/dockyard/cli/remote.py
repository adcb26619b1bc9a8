"""Commands that talk to a running server: ``dockyard jobs`` and ``dockyard status``."""

from __future__ import annotations

from typing import Annotated

import httpx
import typer
from rich.table import Table

from dockyard.cli.common import DEFAULT_SERVER, ServerOption, app, console, fail, pose_table


def _get(server: str, path: str, **params: object) -> dict:
    try:
        response = httpx.get(f"{server.rstrip('/')}{path}", params=params, timeout=30)
    except httpx.HTTPError as error:
        fail(f"cannot reach Dockyard at {server} ({error}); is `dockyard serve` running?")
    if response.status_code >= 400:
        try:
            fail(response.json()["error"]["message"])
        except (ValueError, KeyError):
            fail(f"{server} answered {response.status_code}.")
    return response.json()


@app.command()
def jobs(
    server: ServerOption = DEFAULT_SERVER,
    status: Annotated[str | None, typer.Option(help="Only jobs with this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many jobs.")] = 20,
) -> None:
    """List the newest jobs on a running server."""
    params = {"limit": limit} | ({"status": status} if status else {})
    page = _get(server, "/api/jobs", **params)
    table = Table(title=f"Jobs on {server}")
    for column in ("id", "name", "status", "stage", "best score", "created"):
        table.add_column(column)
    for job in page["jobs"]:
        score = job["best_score"]
        table.add_row(
            str(job["id"]),
            job["name"],
            job["status"],
            job["stage"],
            "" if score is None else f"{score:.2f}",
            job["created_at"][:19].replace("T", " "),
        )
    console.print(table)


@app.command()
def status(
    job_id: Annotated[int, typer.Argument(help="The job's id.")],
    server: ServerOption = DEFAULT_SERVER,
) -> None:
    """Show one job on a running server: status, progress, scores."""
    job = _get(server, f"/api/jobs/{job_id}")
    console.print(
        f"[bold]Job {job['id']}[/] {job['name']}: [bold]{job['status']}[/] ({job['stage']})"
    )
    console.print(f"progress {job['progress'] * 100:.0f}%  attempt {job['attempt']}")
    if job["error"]:
        console.print(f"[red]{job['error']}[/]")
    if job["results"]:
        console.print(pose_table(job["results"]["poses"], f"best {job['best_score']:.2f} kcal/mol"))
        for name, url in job["downloads"].items():
            console.print(f"  {name}: {server.rstrip('/')}{url}")
