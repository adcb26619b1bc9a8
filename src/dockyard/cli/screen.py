"""``dockyard screen``: dock a whole library, here with local workers or on a server."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dockyard.cli.common import (
    AcceptWarningsOption,
    AutoboxOption,
    CenterOption,
    EffortOption,
    ExhaustivenessOption,
    PaddingOption,
    ReceptorOption,
    ScoringOption,
    SeedOption,
    SizeOption,
    TokenOption,
    app,
    auth_headers,
    check_box_options,
    console,
    errors,
    fail,
)
from dockyard.config import default_workers
from dockyard.errors import DockyardError
from dockyard.jobs.files import RESULTS_CSV

FOLLOW_SECONDS = 1.0


@app.command()
def screen(
    receptor: ReceptorOption,
    library: Annotated[Path, typer.Option(help="Ligands: .smi, .csv, .sdf, or .zip/.gz of them.")],
    center: CenterOption = None,
    size: SizeOption = None,
    autobox_ligand: AutoboxOption = None,
    padding: PaddingOption = 4.0,
    exhaustiveness: ExhaustivenessOption = 8,
    effort: EffortOption = "fixed",
    num_poses: Annotated[int, typer.Option(help="Poses kept per ligand (1-20).")] = 3,
    seed: SeedOption = None,
    scoring: ScoringOption = "vina",
    keep_duplicates: Annotated[
        bool, typer.Option(help="Dock repeated molecules again instead of skipping them.")
    ] = False,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Local worker processes [default: half the cores].")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write every ligand's result as CSV.")] = None,
    top_sdf: Annotated[Path | None, typer.Option(help="Write the best poses as one SDF.")] = None,
    top: Annotated[int, typer.Option(min=1, help="How many ligands go in --top-sdf.")] = 100,
    name: Annotated[str, typer.Option(help="A name for the screen.")] = "",
    accept_warnings: AcceptWarningsOption = False,
    validate: Annotated[
        bool,
        typer.Option(
            help="First redock the --autobox-ligand from its SMILES alone and report its RMSD "
            "to the reference pose."
        ),
    ] = False,
    server: Annotated[
        str | None,
        typer.Option(envvar="DOCKYARD_SERVER", help="Submit to this server instead and follow it."),
    ] = None,
    token: TokenOption = None,
    webhook: Annotated[
        str | None,
        typer.Option(
            "--webhook",
            metavar="URL",
            help="With --server: the server POSTs the screen's end here (signed JSON).",
        ),
    ] = None,
) -> None:
    """Screen a library against one receptor and box, with a progress bar and a leaderboard."""
    check_box_options(center, size, autobox_ligand)
    if webhook and not server:
        fail("--webhook needs --server: the server notifies the webhook when the screen ends.")
    for path, what in ((receptor, "receptor"), (library, "library"), (autobox_ligand, "ligand")):
        if path is not None and not path.is_file():
            fail(f"{what} file {path} does not exist.")
    fields: dict[str, Any] = {
        "exhaustiveness": exhaustiveness,
        "effort": effort,
        "num_poses": num_poses,
        "seed": seed,
        "scoring": scoring,
        "padding": padding if autobox_ligand else None,
        "name": name,
        "skip_duplicates": not keep_duplicates,
        "accept_warnings": accept_warnings,
        "validate": validate,
        "webhook_url": webhook,
    }
    if center and size:
        fields |= dict(zip(("center_x", "center_y", "center_z"), center, strict=True))
        fields |= dict(zip(("size_x", "size_y", "size_z"), size, strict=True))
    if server:
        _screen_on_server(
            server, token, receptor, library, autobox_ligand, fields, out, top_sdf, top
        )
    else:
        _screen_here(receptor, library, autobox_ligand, fields, workers, out, top_sdf, top)


def _screen_here(
    receptor: Path,
    library: Path,
    reference: Path | None,
    fields: dict[str, Any],
    workers: int | None,
    out: Path | None,
    top_sdf: Path | None,
    top: int,
) -> None:
    """Run the screen with the same store, chunks and runner as the server, in a temp folder."""
    from dockyard.jobs import screen_results
    from dockyard.jobs.params import ScreenParams
    from dockyard.jobs.screening import LibraryUpload, ScreenRequest, submit_screen
    from dockyard.jobs.store import Store
    from dockyard.jobs.submit import DockRequest, Upload
    from dockyard.runners.local import LocalRunner

    workers = workers or default_workers()
    with tempfile.TemporaryDirectory(prefix="dockyard-screen-") as folder:
        url = f"sqlite:///{Path(folder) / 'screen.db'}"
        store = Store.open(url)
        runner = LocalRunner(store, url, workers=workers, cpu_per_job=_cpu_per_job(workers))
        try:
            with library.open("rb") as stream:
                job = submit_screen(
                    store,
                    ScreenRequest(
                        target=DockRequest(
                            receptor=Upload(receptor.name, receptor.read_bytes()),
                            reference_ligand=(
                                Upload(reference.name, reference.read_bytes())
                                if reference
                                else None
                            ),
                            box={key: fields.get(key) for key in _BOX_KEYS},
                            padding=fields["padding"],
                            accept_warnings=fields["accept_warnings"],
                        ),
                        library=LibraryUpload(library.name, stream),
                        options={key: fields[key] for key in _OPTION_KEYS},
                        name=fields["name"],
                        skip_duplicates=fields["skip_duplicates"],
                        validate=fields["validate"],
                    ),
                    max_upload_bytes=1 << 40,
                    workers=workers,
                )
        except DockyardError as error:
            fail(error.message)
        total = ScreenParams.from_job(job).total
        console.print(f"Screening {total} ligands with {workers} worker(s)")
        runner.start()
        try:
            _follow(
                lambda: {
                    **screen_results.overview(store, job.id),
                    "status": store.get_job(job.id).status.value,
                }
            )
        except KeyboardInterrupt:
            store.cancel_job(job.id)
            errors.print("[yellow]cancelled[/]")
            raise typer.Exit(130) from None
        finally:
            runner.stop()
        _print_validation(screen_results.validation(store, job.id))
        _write(out, screen_results.results_csv(store, job.id))
        _write(top_sdf, screen_results.top_poses_sdf(store, job.id, top))
        store.close()


def _cpu_per_job(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


_BOX_KEYS = ("center_x", "center_y", "center_z", "size_x", "size_y", "size_z")
_OPTION_KEYS = ("exhaustiveness", "effort", "num_poses", "seed", "scoring")


def _screen_on_server(
    server: str,
    token: str | None,
    receptor: Path,
    library: Path,
    reference: Path | None,
    fields: dict[str, Any],
    out: Path | None,
    top_sdf: Path | None,
    top: int,
) -> None:
    base = server.rstrip("/")
    headers = auth_headers(token)
    data = {key: str(value) for key, value in fields.items() if value not in (None, "")}
    data["skip_duplicates"] = str(fields["skip_duplicates"]).lower()
    data["accept_warnings"] = str(fields["accept_warnings"]).lower()
    data["validate"] = str(fields["validate"]).lower()
    try:
        with receptor.open("rb") as rec, library.open("rb") as lib:
            files = {"receptor": (receptor.name, rec), "library": (library.name, lib)}
            if reference is not None:
                files["reference_ligand"] = (reference.name, reference.read_bytes())
            response = httpx.post(
                f"{base}/api/screens", data=data, files=files, headers=headers, timeout=600
            )
    except httpx.HTTPError as error:
        fail(f"cannot reach Dockyard at {server} ({error}); is `dockyard serve` running?")
    if response.status_code >= 400:
        fail(response.json().get("error", {}).get("message", response.text))
    created = response.json()
    screen_id = created["job_id"]
    console.print(f"Screen {screen_id}: {created['total']} ligands — {base}/screens/{screen_id}")

    screen_url = f"{base}/api/screens/{screen_id}"
    _follow(lambda: httpx.get(screen_url, headers=headers, timeout=60).json())
    _print_validation(httpx.get(screen_url, headers=headers, timeout=60).json()["validation"])
    if out is not None:
        _write(out, _stream(f"{screen_url}/{RESULTS_CSV}", headers))
    if top_sdf is not None:
        _write(top_sdf, _stream(f"{screen_url}/top.sdf?n={top}", headers))


def _print_validation(validation: dict[str, Any] | None) -> None:
    """One line on the redocking of the reference ligand (``--validate``)."""
    if validation is None:
        return
    if validation["status"] != "completed":
        console.print(f"Validation {validation['status']}: {validation.get('error') or ''}")
        return
    best, top1 = validation["best_rmsd"], validation["top1_rmsd"]
    console.print(
        f"Validation: the reference ligand redocked at {validation['best_score']:.2f} kcal/mol; "
        f"top pose {_angstrom(top1)} from the reference pose, closest pose "
        f"{_angstrom(best)} (pose {validation['best_rank']})"
    )


def _angstrom(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} Å"


def _stream(url: str, headers: dict[str, str]) -> Iterable[str]:
    with httpx.stream("GET", url, headers=headers, timeout=600) as response:
        yield from response.iter_text()


def _follow(overview: Callable[[], dict[str, Any]]) -> None:
    """A progress bar with throughput and ETA until the screen ends, then the leaderboard."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=errors) as progress:
        task = progress.add_task("docking", total=None, detail="")
        while True:
            state = overview()
            counts = state["counts"]
            rate = state["throughput_per_minute"]
            eta = state["eta_seconds"]
            detail = f"{counts['failed']} failed, {counts['duplicates']} duplicates"
            if rate:
                detail += f", {rate:.1f}/min"
            if eta:
                detail += f", ETA {eta / 60:.0f} min" if eta > 90 else f", ETA {eta:.0f} s"
            done = counts["completed"] + counts["failed"] + counts["duplicates"]
            progress.update(task, total=counts["total"], completed=done, detail=detail)
            current = state["status"]
            if current in ("completed", "failed", "cancelled"):
                break
            time.sleep(FOLLOW_SECONDS)
    console.print(_leaderboard(state["leaderboard"], f"Screen {current}: best ligands"))


def _leaderboard(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    for column in ("#", "name", "score", "LE", "heavy atoms", "MW", "logP"):
        table.add_column(column, justify="right" if column != "name" else "left")
    for rank, row in enumerate(rows, start=1):
        table.add_row(
            str(rank),
            row["name"],
            f"{row['score']:.2f}",
            f"{row['ligand_efficiency']:.3f}",
            str(row["heavy_atoms"]),
            f"{row['molecular_weight']:.1f}",
            f"{row['logp']:.2f}",
        )
    return table


def _write(path: Path | None, pieces: Iterable[str]) -> None:
    if path is None:
        return
    with path.open("w") as handle:
        for piece in pieces:
            handle.write(piece)
    console.print(f"Wrote {path}")
