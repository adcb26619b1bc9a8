"""``dockyard dock``: one docking here and now, without a server."""

from __future__ import annotations

import multiprocessing
import tempfile
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

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
    app,
    check_box_options,
    console,
    errors,
    fail,
    pose_table,
    progress_bar,
    read_file,
)
from dockyard.errors import DockingError, DockyardError
from dockyard.processes import send_stdout_to

if TYPE_CHECKING:  # the science stack loads when a docking runs, not for `dockyard --help`
    from dockyard.chem import (
        Box,
        DockingOptions,
        DockingResult,
        PreparedLigand,
        PreparedReceptor,
        StageCallback,
    )


@app.command()
def dock(
    receptor: ReceptorOption,
    ligand: Annotated[Path | None, typer.Option(help="Ligand .sdf, .mol, .mol2 or .pdbqt.")] = None,
    smiles: Annotated[str | None, typer.Option(help="Ligand as SMILES instead of a file.")] = None,
    center: CenterOption = None,
    size: SizeOption = None,
    autobox_ligand: AutoboxOption = None,
    padding: PaddingOption = 4.0,
    exhaustiveness: ExhaustivenessOption = 8,
    effort: EffortOption = "fixed",
    num_poses: Annotated[int, typer.Option(help="Poses to keep (1-20).")] = 9,
    energy_range: Annotated[float, typer.Option(help="kcal/mol above the best pose.")] = 3.0,
    seed: SeedOption = None,
    scoring: ScoringOption = "vina",
    cpu: Annotated[int, typer.Option(help="Threads for Vina (0 = all cores).")] = 0,
    out: Annotated[Path | None, typer.Option(help="Write poses (.sdf or .pdbqt).")] = None,
    accept_warnings: AcceptWarningsOption = False,
) -> None:
    """Dock one ligand here and now, without a server, and print the score table."""
    from dockyard import chem
    from dockyard.chem.core.fields import offering_acceptance, refuse_unless_accepted
    from dockyard.chem.receptor.prepare import too_few_residues

    try:
        if (ligand is None) == (smiles is None):
            fail("give exactly one of --ligand or --smiles.")
        check_box_options(center, size, autobox_ligand)
        options = chem.DockingOptions.from_fields(
            {
                "scoring": scoring,
                "exhaustiveness": exhaustiveness,
                "effort": effort,
                "num_poses": num_poses,
                "energy_range": energy_range,
                "seed": seed,
                "cpu": cpu,
            }
        )
        if autobox_ligand is not None:
            box = chem.box_around_ligand(*read_file(autobox_ligand, "reference ligand"), padding)
        else:
            box = chem.Box(center=center, size=size)
        with offering_acceptance():
            if smiles is not None:
                prepared_ligand = chem.ligand_from_smiles(smiles, allow_radicals=accept_warnings)
            else:
                prepared_ligand = chem.ligand_from_file(
                    *read_file(ligand, "ligand"), allow_radicals=accept_warnings
                )
        warnings = [*prepared_ligand.notes, *box.warnings()]
        for warning in warnings:
            errors.print(f"[yellow]warning:[/] {warning}")
        with progress_bar() as progress:
            task = progress.add_task("preparing receptor", total=1.0)
            prepared_receptor = chem.prepare_receptor(*read_file(receptor, "receptor"), box=box)
            problem = too_few_residues(prepared_receptor)
            if problem:
                refuse_unless_accepted(
                    problem, field="receptor", code="receptor_too_small", accepted=accept_warnings
                )
                errors.print(f"[yellow]warning:[/] {problem}")

            def on_stage(stage: str, fraction: float) -> None:
                progress.update(task, description=stage, completed=fraction)

            result = dock_in_child(prepared_receptor, prepared_ligand, box, options, on_stage)
            progress.update(task, description="done", completed=1.0)
    except DockyardError as error:
        fail(error.message)
    from dockyard.chem.core.progress import search_summary

    summary = result.to_dict()
    console.print(pose_table(summary["poses"], f"{prepared_ligand.name} (seed {result.seed})"))
    console.print(f"Search: {search_summary(summary['search'])}")
    if out is not None:
        text = result.poses_pdbqt if out.suffix.lower() == ".pdbqt" else result.poses_sdf
        out.write_text(text)
        console.print(f"Poses written to {out}")


def dock_in_child(
    receptor: PreparedReceptor,
    ligand: PreparedLigand,
    box: Box,
    options: DockingOptions,
    on_stage: StageCallback,
) -> DockingResult:
    """Dock in a forked child, so that this process stays free to draw the progress bar.

    Vina holds the GIL of the process it docks in, which would freeze the bar and its clock;
    it draws its own progress bar on that process's standard output, which is read from here.
    """
    from dockyard.chem.core.progress import DOCKING_PROGRESS, DOCKING_STAGE, docking_progress
    from dockyard.runners.supervise import JobProcess

    receiving, sending = multiprocessing.get_context("fork").Pipe(duplex=False)
    with tempfile.NamedTemporaryFile(prefix="dockyard-vina-", suffix=".out") as output:
        child = JobProcess(
            _dock, (sending, output.name, receptor, ligand, box, options), name="dockyard-dock"
        )
        child.start()
        sending.close()
        on_stage("computing maps", DOCKING_PROGRESS[0] / 2)
        try:
            while not receiving.poll(0.2):
                if (code := child.poll()) is not None:
                    raise DockingError(f"The docking process ended with code {code}.")
                progress = docking_progress(Path(output.name).read_text(errors="replace"))
                if progress is not None:
                    on_stage(DOCKING_STAGE, progress)
            outcome = receiving.recv()
        finally:
            child.close()
    if isinstance(outcome, DockyardError):
        raise outcome
    return outcome


def _dock(sending: Connection, output: str, *arguments: Any) -> None:
    """In the child: Vina writes to file descriptor 1, which becomes the output file."""
    from dockyard.chem import dock

    send_stdout_to(output)
    try:
        sending.send(dock(*arguments, progress_bar=True))
    except DockyardError as error:
        sending.send(error)
