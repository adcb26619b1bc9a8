"""What every command shares: the Typer app, consoles and how errors are printed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

app = typer.Typer(
    help="Dockyard: molecular docking with AutoDock Vina, as a server or on the command line.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True)

DEFAULT_SERVER = "http://127.0.0.1:5000"
Triple = tuple[float, float, float]

# Options shared by the commands that dock (``dock``, ``screen``): one wording, one default.
ReceptorOption = Annotated[Path, typer.Option(help="Receptor .pdb, .cif or .pdbqt.")]
CenterOption = Annotated[Triple | None, typer.Option(help="Box centre X Y Z (Å).")]
SizeOption = Annotated[Triple | None, typer.Option(help="Box size X Y Z (Å).")]
AutoboxOption = Annotated[Path | None, typer.Option(help="Reference ligand to put the box around.")]
PaddingOption = Annotated[float, typer.Option(help="Å added around the reference ligand.")]
ExhaustivenessOption = Annotated[int, typer.Option(help="Search effort (1-64).")]
SeedOption = Annotated[int | None, typer.Option(help="Random seed [default: random].")]
EffortOption = Annotated[
    str,
    typer.Option(
        help="Search effort: fixed (one search of --exhaustiveness chains) or auto (rounds of a "
        "few chains until the best pose repeats, up to 32 chains)."
    ),
]
ScoringOption = Annotated[str, typer.Option(help="Scoring function: vina or vinardo.")]
ServerOption = Annotated[
    str, typer.Option("--server", envvar="DOCKYARD_SERVER", help="URL of a running Dockyard.")
]
AcceptWarningsOption = Annotated[
    bool,
    typer.Option(
        "--accept-warnings",
        help="Dock a receptor of under 20 residues or a ligand with radicals, with a warning.",
    ),
]


TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="DOCKYARD_TOKEN",
        help="API token of a server that has users (`dockyard tokens create`).",
        show_default=False,
    ),
]


def auth_headers(token: str | None) -> dict[str, str]:
    """The headers that authenticate a command to a server (none in its single-user mode)."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def check_box_options(center: Triple | None, size: Triple | None, autobox: Path | None) -> None:
    if autobox is not None and (center or size):
        fail("give either --center and --size, or --autobox-ligand, not both.")
    if autobox is None and not (center and size):
        fail("give a box: --center X Y Z --size X Y Z, or --autobox-ligand FILE.")


def fail(message: str, code: int = 2) -> None:
    errors.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


def read_file(path: Path, what: str) -> tuple[str, str]:
    """A file's text and its format (from the extension), or a clear error."""
    if not path.is_file():
        fail(f"{what} file {path} does not exist.")
    return path.read_text(errors="replace"), path.suffix.lower().lstrip(".")


def progress_bar() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=errors,
        transient=True,
    )


def pose_table(poses: list[dict], title: str) -> Table:
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
