"""``POST /api/prepare``: the pre-flight check, without docking.

The same form as ``POST /api/jobs`` plus preparation options; it answers with the prepared
receptor (report, PDBQT, PDB with hydrogens), the prepared ligand, the box, detected pockets
and warnings, so a person sees problems before queueing. Submissions run the same check.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dockyard.jobs.submit import parse_flag, preflight_report
from dockyard.runners.chemistry import PREPARATION
from dockyard.web.deps import ChemistryDep, SettingsDep
from dockyard.web.forms import (
    FORM_ERRORS,
    OptionalFile,
    OptionalText,
    ReceptorFile,
    StrictMultipart,
    TargetFormDep,
    read_upload,
)
from dockyard.web.schemas import error_responses

router = APIRouter(prefix="/api", tags=["preparation"], responses=error_responses(422))


@router.post("/prepare", dependencies=[StrictMultipart], responses=FORM_ERRORS)
def prepare(
    settings: SettingsDep,
    chemistry: ChemistryDep,
    target: TargetFormDep,
    receptor: ReceptorFile,
    ligand: OptionalFile = None,
    smiles: OptionalText = None,
    reference_ligand: OptionalFile = None,
    pockets: OptionalText = None,
) -> dict[str, Any]:
    """Prepare receptor, ligand and box without docking: the report, files, box and warnings.

    ``pockets=true`` lists detected pockets; they are listed anyway when no box is given.
    """
    limit = settings.max_upload_bytes
    return chemistry.run(
        PREPARATION,
        preflight_report,
        target.request(
            receptor=read_upload(receptor, "receptor", limit),
            ligand=read_upload(ligand, "ligand", limit),
            smiles=smiles,
            reference_ligand=read_upload(reference_ligand, "reference_ligand", limit),
        ),
        max_upload_bytes=limit,
        pockets=parse_flag(pockets, "pockets"),
    )
