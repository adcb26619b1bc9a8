"""Commands that talk to a running server: ``dockyard jobs`` and ``dockyard status``."""

from __future__ import annotations

import time
from typing import Annotated, Any

import httpx
import typer
from rich.table import Table

from dockyard.cli.common import (
    DEFAULT_SERVER,
    ServerOption,
    TokenOption,
    app,
    auth_headers,
    console,
    fail,
    pose_table,
    progress_bar,
)

UNFINISHED = ("pending", "running")
FOLLOW_SECONDS = 1.0
FOLLOW_HELP = "Show a progress bar until the job ends; exit 1 unless it completes."


def request(method: str, server: str, path: str, token: str | None, **kwargs: object) -> Any:
    """One API call with the token; a refusal is printed as the server words it."""
    url = f"{server.rstrip('/')}{path}"
    try:
        response = httpx.request(method, url, headers=auth_headers(token), timeout=30, **kwargs)
    except httpx.HTTPError as error:
        fail(f"cannot reach Dockyard at {server} ({error}); is `dockyard serve` running?")
    if response.status_code >= 400:
        try:
            fail(response.json()["error"]["message"])
        except (ValueError, KeyError):
            fail(f"{server} answered {response.status_code}.")
    return response.json()


def _get(server: str, path: str, token: str | None, **params: object) -> dict:
    return request("GET", server, path, token, params=params)


@app.command()
def jobs(
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    status: Annotated[str | None, typer.Option(help="Only jobs with this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many jobs.")] = 20,
) -> None:
    """List the newest jobs on a running server."""
    params = {"limit": limit} | ({"status": status} if status else {})
    page = _get(server, "/api/jobs", token, **params)
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
    token: TokenOption = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help=FOLLOW_HELP)] = False,
) -> None:
    """Show one job on a running server: status, progress, scores."""
    job = _get(server, f"/api/jobs/{job_id}", token)
    if follow:
        job = _follow(server, job, token)
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
    if follow and job["status"] != "completed":
        raise typer.Exit(1)


def _follow(server: str, job: dict, token: str | None) -> dict:
    """Poll the job once a second with a progress bar (its progress moves while Vina docks)."""
    with progress_bar() as progress:
        task = progress.add_task(job["stage"], total=1.0, completed=job["progress"])
        while job["status"] in UNFINISHED:
            time.sleep(FOLLOW_SECONDS)
            job = _get(server, f"/api/jobs/{job['id']}", token)
            progress.update(task, description=job["stage"], completed=job["progress"])
    return job
