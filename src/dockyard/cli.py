"""The ``dockyard`` command: run the server, dock without one, or talk to a running one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from dockyard.config import get_settings
from dockyard.errors import DockyardError

app = typer.Typer(
    help="Dockyard: molecular docking with AutoDock Vina, as a server or on the command line.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True)

DEFAULT_SERVER = "http://127.0.0.1:5000"
ServerOption = Annotated[
    str, typer.Option("--server", envvar="DOCKYARD_SERVER", help="URL of a running Dockyard.")
]
Triple = tuple[float, float, float]


def fail(message: str, code: int = 2) -> None:
    errors.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


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

    settings = get_settings(data_dir=data_dir, workers=workers)
    console.print(
        f"Dockyard on [bold]http://{host}:{port}[/] — data in {settings.data_dir.resolve()}, "
        f"{settings.workers} worker(s)"
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


def _read(path: Path, what: str) -> tuple[str, str]:
    if not path.is_file():
        fail(f"{what} file {path} does not exist.")
    return path.read_text(errors="replace"), path.suffix.lower().lstrip(".")


@app.command()
def dock(
    receptor: Annotated[Path, typer.Option(help="Receptor .pdb (with hydrogens) or .pdbqt.")],
    ligand: Annotated[Path | None, typer.Option(help="Ligand .sdf, .mol, .mol2 or .pdbqt.")] = None,
    smiles: Annotated[str | None, typer.Option(help="Ligand as SMILES instead of a file.")] = None,
    center: Annotated[Triple | None, typer.Option(help="Box centre X Y Z (Å).")] = None,
    size: Annotated[Triple | None, typer.Option(help="Box size X Y Z (Å).")] = None,
    autobox_ligand: Annotated[
        Path | None, typer.Option(help="Reference ligand to put the box around.")
    ] = None,
    padding: Annotated[float, typer.Option(help="Å added around the reference ligand.")] = 4.0,
    exhaustiveness: Annotated[int, typer.Option(help="Search effort (1-64).")] = 8,
    num_poses: Annotated[int, typer.Option(help="Poses to keep (1-20).")] = 9,
    energy_range: Annotated[float, typer.Option(help="kcal/mol above the best pose.")] = 3.0,
    seed: Annotated[int | None, typer.Option(help="Random seed [default: random].")] = None,
    scoring: Annotated[str, typer.Option(help="Scoring function: vina or vinardo.")] = "vina",
    cpu: Annotated[int, typer.Option(help="Threads for Vina (0 = all cores).")] = 0,
    out: Annotated[Path | None, typer.Option(help="Write poses (.sdf or .pdbqt).")] = None,
) -> None:
    """Dock one ligand here and now, without a server, and print the score table."""
    from dockyard import chem

    try:
        if (ligand is None) == (smiles is None):
            fail("give exactly one of --ligand or --smiles.")
        if autobox_ligand is not None and (center or size):
            fail("give either --center and --size, or --autobox-ligand, not both.")
        options = chem.DockingOptions.from_fields(
            {
                "scoring": scoring,
                "exhaustiveness": exhaustiveness,
                "num_poses": num_poses,
                "energy_range": energy_range,
                "seed": seed,
                "cpu": cpu,
            }
        )
        if autobox_ligand is not None:
            box = chem.Box.around_ligand(*_read(autobox_ligand, "reference ligand"), padding)
        elif center and size:
            box = chem.Box(center=center, size=size)
        else:
            fail("give a box: --center X Y Z --size X Y Z, or --autobox-ligand FILE.")
        if smiles is not None:
            prepared_ligand = chem.ligand_from_smiles(smiles)
        else:
            prepared_ligand = chem.ligand_from_file(*_read(ligand, "ligand"))
        for warning in box.warnings():
            errors.print(f"[yellow]warning:[/] {warning}")
        with _progress() as progress:
            task = progress.add_task("preparing receptor", total=1.0)
            prepared_receptor = chem.prepare_receptor(*_read(receptor, "receptor"), box=box)

            def on_stage(stage: str, fraction: float) -> None:
                progress.update(task, description=stage, completed=fraction)

            result = chem.dock(prepared_receptor, prepared_ligand, box, options, on_stage)
            progress.update(task, description="done", completed=1.0)
    except DockyardError as error:
        fail(error.message)
    console.print(
        _pose_table(result.to_dict()["poses"], f"{prepared_ligand.name} (seed {result.seed})")
    )
    if out is not None:
        text = result.poses_pdbqt if out.suffix.lower() == ".pdbqt" else result.poses_sdf
        out.write_text(text)
        console.print(f"Poses written to {out}")


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
    )


def _pose_table(poses: list[dict], title: str) -> Table:
    table = Table(title=title)
    for column in ("pose", "affinity (kcal/mol)", "rmsd l.b.", "rmsd u.b."):
        table.add_column(column, justify="right")
    for pose in poses:
        table.add_row(
            str(pose["rank"]),
            f"{pose['affinity']:.2f}",
            f"{pose['rmsd_lb']:.2f}",
            f"{pose['rmsd_ub']:.2f}",
        )
    return table


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
        console.print(
            _pose_table(job["results"]["poses"], f"best {job['best_score']:.2f} kcal/mol")
        )
        for name, url in job["downloads"].items():
            console.print(f"  {name}: {server.rstrip('/')}{url}")
