"""``POST /api/prepare``: the pre-flight check, without docking.

The same form as ``POST /api/jobs`` plus preparation options; it answers with the prepared
receptor (report, PDBQT, PDB with hydrogens), the prepared ligand, the box, detected pockets
and warnings, so a person sees problems before queueing. Submissions run the same check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile

from dockyard.chem import LIGAND_FORMATS, RECEPTOR_FORMATS, REFERENCE_FORMATS
from dockyard.errors import FileTooLargeError, InputError
from dockyard.jobs.submit import PREPARATION_FIELDS, Upload, _flag, _read_upload

router = APIRouter(prefix="/api", tags=["preparation"])

OptionalFile = Annotated[UploadFile | None, File()]
OptionalText = Annotated[str | None, Form()]


@dataclass
class PreparationForm:
    """Form fields shared by ``POST /api/prepare`` and ``POST /api/jobs``."""

    ph: str | None
    keep_waters: str | None
    keep_hetero: str | None
    altloc: str | None
    stereo: str | None
    box_residues: str | None
    blind: str | None
    pocket: str | None

    def preparation(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in PREPARATION_FIELDS}


def preparation_form(
    ph: Annotated[
        str | None, Form(description="pH for protonation states (default 7.4; 'none' keeps)")
    ] = None,
    keep_waters: Annotated[
        str | None, Form(description="waters to keep: chain:number list, or 'all'")
    ] = None,
    keep_hetero: Annotated[
        str | None,
        Form(description="none, metals (default), cofactors, or residue names/ids to keep"),
    ] = None,
    altloc: Annotated[
        str | None, Form(description="alternate location to keep (default: highest occupancy)")
    ] = None,
    stereo: Annotated[
        str | None, Form(description="unspecified stereocentres: flag (default) or enumerate")
    ] = None,
    box_residues: Annotated[
        str | None, Form(description="box around residues, e.g. 'A:GLU:286, A:THR:315'")
    ] = None,
    blind: Annotated[str | None, Form(description="true: box around the whole protein")] = None,
    pocket: Annotated[str | None, Form(description="rank of a detected pocket as the box")] = None,
) -> PreparationForm:
    return PreparationForm(
        ph, keep_waters, keep_hetero, altloc, stereo, box_residues, blind, pocket
    )


PreparationFormDep = Annotated[PreparationForm, Depends(preparation_form)]


@router.post("/prepare")
def prepare(
    request: Request,
    form: PreparationFormDep,
    receptor: OptionalFile = None,
    ligand: OptionalFile = None,
    smiles: OptionalText = None,
    reference_ligand: OptionalFile = None,
    padding: OptionalText = None,
    center_x: OptionalText = None,
    center_y: OptionalText = None,
    center_z: OptionalText = None,
    size_x: OptionalText = None,
    size_y: OptionalText = None,
    size_z: OptionalText = None,
    pockets: OptionalText = None,
) -> dict[str, Any]:
    """Prepare receptor, ligand and box without docking: the report, files, box and warnings.

    ``pockets=true`` lists detected pockets; they are listed anyway when no box is given.
    """
    from dockyard.chem import PreflightRequest, PreparationOptions, preflight

    limit = request.app.state.settings.max_upload_bytes
    receptor_upload = read_upload(receptor, "receptor", limit)
    if receptor_upload is None:
        raise InputError("The receptor file is missing or empty.", field="receptor")
    receptor_file = _input(receptor_upload, "receptor", RECEPTOR_FORMATS, limit)
    ligand_upload = read_upload(ligand, "ligand", limit)
    reference_upload = read_upload(reference_ligand, "reference_ligand", limit)
    box = {
        "center_x": center_x,
        "center_y": center_y,
        "center_z": center_z,
        "size_x": size_x,
        "size_y": size_y,
        "size_z": size_z,
    }
    result = preflight(
        PreflightRequest(
            receptor=receptor_file,
            ligand=None
            if ligand_upload is None
            else _input(ligand_upload, "ligand", LIGAND_FORMATS, limit),
            smiles=smiles,
            box=box,
            reference_ligand=None
            if reference_upload is None
            else _input(reference_upload, "reference_ligand", REFERENCE_FORMATS, limit),
            padding=padding,
            box_residues=form.box_residues,
            blind=_flag(form.blind, "blind"),
            pocket=form.pocket,
            pockets=_flag(pockets, "pockets"),
            options=PreparationOptions.from_fields(form.preparation()),
        )
    )
    return result.to_dict()


def read_upload(upload: UploadFile | None, field: str, max_bytes: int) -> Upload | None:
    """Read at most one byte past the limit, so a huge upload is refused without loading it."""
    if upload is None or not upload.filename:
        return None
    stream: BinaryIO = upload.file
    content = stream.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise FileTooLargeError(
            f"The {field} file is larger than the limit of {max_bytes / 1e6:.1f} MB.", field=field
        )
    return Upload(upload.filename, content)


def _input(upload: Upload, field: str, formats: tuple[str, ...], limit: int):
    from dockyard.chem import InputFile

    fmt, text = _read_upload(upload, field, formats, limit)
    return InputFile(text, fmt, upload.filename)
