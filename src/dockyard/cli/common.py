"""What every command shares: the Typer app, consoles and how errors are printed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

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
