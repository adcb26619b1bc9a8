"""``dockyard prepare``: the pre-flight check on the command line, without docking."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dockyard.cli.common import app, console, errors, fail, read_file
from dockyard.errors import DockyardError
from dockyard.jobs.files import LIGAND_PDBQT, LIGAND_SDF, RECEPTOR_PDB, RECEPTOR_PDBQT

Triple = tuple[float, float, float]


@app.command()
def prepare(
    receptor: Annotated[
        Path | None, typer.Option(help="Receptor .pdb, .cif or .pdbqt (raw PDB files are fine).")
    ] = None,
    pdb_id: Annotated[
        str | None,
        typer.Option(help="Fetch the receptor: a PDB id, or a UniProt accession (AlphaFold)."),
    ] = None,
    allow_network: Annotated[
        bool, typer.Option(help="Allow --pdb-id to download (off: no internet is assumed).")
    ] = False,
    ligand: Annotated[
        Path | None, typer.Option(help="Ligand .sdf, .mol, .mol2, .pdb or .pdbqt.")
    ] = None,
    smiles: Annotated[str | None, typer.Option(help="Ligand as SMILES instead of a file.")] = None,
    center: Annotated[Triple | None, typer.Option(help="Box centre X Y Z (Å).")] = None,
    size: Annotated[Triple | None, typer.Option(help="Box size X Y Z (Å).")] = None,
    autobox_ligand: Annotated[
        Path | None, typer.Option(help="Reference ligand to put the box around.")
    ] = None,
    residues: Annotated[
        str | None, typer.Option(help="Box around residues, e.g. 'A:GLU:286,A:THR:315'.")
    ] = None,
    blind: Annotated[bool, typer.Option(help="Box around the whole protein.")] = False,
    pocket: Annotated[int | None, typer.Option(help="Use detected pocket N as the box.")] = None,
    pockets: Annotated[bool, typer.Option(help="List detected pockets.")] = False,
    padding: Annotated[
        float | None, typer.Option(help="Å around a reference ligand, residues or the protein.")
    ] = None,
    ph: Annotated[str, typer.Option(help="pH for protonation, or 'none' to keep.")] = "7.4",
    keep_waters: Annotated[
        str | None, typer.Option(help="Waters to keep: 'A:301,A:302' or 'all'.")
    ] = None,
    keep_hetero: Annotated[
        str,
        typer.Option(
            help="auto (metals and cofactors lining the box), none, metals, cofactors, or "
            "residue names/ids (NDP,A:193)."
        ),
    ] = "auto",
    altloc: Annotated[
        str | None, typer.Option(help="Alternate location to keep [default: highest occupancy].")
    ] = None,
    stereo: Annotated[
        str, typer.Option(help="Unspecified stereocentres: flag or enumerate.")
    ] = "flag",
    out_dir: Annotated[
        Path | None,
        typer.Option(help="Write receptor.pdbqt, receptor.pdb, ligand.pdbqt/.sdf, report.json."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the whole result as JSON.")
    ] = False,
) -> None:
    """Prepare receptor, ligand and box without docking, and show what was changed."""
    from dockyard import chem
    from dockyard.chem.receptor.fetch import fetch_structure

    try:
        if (receptor is None) == (pdb_id is None):
            fail("give exactly one of --receptor or --pdb-id.")
        if ligand is not None and smiles is not None:
            fail("give at most one of --ligand or --smiles.")
        if (center is None) != (size is None):
            fail("give both --center and --size.")
        if receptor is not None:
            receptor_text, receptor_format = read_file(receptor, "receptor")
        else:
            receptor_text, receptor_format = fetch_structure(
                pdb_id or "", allow_network=allow_network
            )
        box_fields = {}
        if center and size:
            box_fields = dict(zip(chem.BOX_FIELDS, (*center, *size), strict=True))
        request = chem.PreflightRequest(
            receptor=chem.InputFile(receptor_text, receptor_format, str(receptor or pdb_id)),
            ligand=None if ligand is None else chem.InputFile(*read_file(ligand, "ligand")),
            smiles=smiles,
            box=box_fields,
            reference_ligand=None
            if autobox_ligand is None
            else chem.InputFile(*read_file(autobox_ligand, "reference ligand")),
            padding=padding,
            box_residues=residues,
            blind=blind,
            pocket=pocket,
            pockets=pockets,
            options=chem.PreparationOptions.from_fields(
                {
                    "ph": ph,
                    "keep_waters": keep_waters,
                    "keep_hetero": keep_hetero,
                    "altloc": altloc,
                    "stereo": stereo,
                }
            ),
        )
        with console.status("preparing"):
            result = chem.preflight(request)
    except DockyardError as error:
        fail(error.message)
    data = result.to_dict()
    if out_dir is not None:
        _write(out_dir, data)
    if as_json:
        console.print_json(json.dumps(data))
        return
    _show(data)
    if out_dir is not None:
        console.print(f"Prepared files written to {out_dir}")


def _write(folder: Path, data: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / RECEPTOR_PDBQT).write_text(data["receptor"]["pdbqt"])
    (folder / RECEPTOR_PDB).write_text(data["receptor"]["pdb"])
    if data["ligand"]:
        (folder / LIGAND_PDBQT).write_text(data["ligand"]["pdbqt"])
        (folder / LIGAND_SDF).write_text(data["ligand"]["sdf"])
    summary = {key: value for key, value in data.items() if key not in ("receptor", "ligand")}
    summary["receptor_report"] = data["receptor"]["report"]
    summary["ligand"] = (
        {k: v for k, v in data["ligand"].items() if k not in ("pdbqt", "sdf")}
        if data["ligand"]
        else None
    )
    (folder / "report.json").write_text(json.dumps(summary, indent=2) + "\n")


def _show(data: dict) -> None:
    report = data["receptor"]["report"]
    table = Table(title="Receptor preparation", show_header=False)
    for key, value in report.items():
        if key == "warnings" or value in ([], {}, 0, None, ""):
            continue
        if isinstance(value, list):
            value = "\n".join(str(item) for item in value)
        elif isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items())
        table.add_row(key.replace("_", " "), str(value))
    console.print(table)
    ligand = data["ligand"]
    if ligand:
        console.print(
            f"[bold]Ligand[/] {ligand['name']}: {ligand['smiles']} "
            f"({ligand['num_heavy_atoms']} heavy atoms)"
        )
        for note in ligand["notes"]:
            console.print(f"  note: {note}")
    box = data["box"]
    if box:
        centre = " ".join(f"{box[k]:.2f}" for k in ("center_x", "center_y", "center_z"))
        sides = " ".join(f"{box[k]:.1f}" for k in ("size_x", "size_y", "size_z"))
        console.print(f"[bold]Box[/] ({data['box_source']}): centre {centre}, size {sides} Å")
    if data["pockets"]:
        pockets = Table(title="Detected pockets")
        for column in ("rank", "centre", "size", "volume Å³", "score", "residues"):
            pockets.add_column(column)
        for found in data["pockets"]:
            pockets.add_row(
                str(found["rank"]),
                " ".join(f"{v:.1f}" for v in found["center"]),
                " ".join(f"{v:.0f}" for v in found["size"]),
                f"{found['volume']:.0f}",
                f"{found['score']:.2f}",
                ", ".join(found["residues"][:6]) + (" …" if len(found["residues"]) > 6 else ""),
            )
        console.print(pockets)
    for warning in data["warnings"]:
        errors.print(f"[yellow]warning:[/] {warning}", soft_wrap=True)
