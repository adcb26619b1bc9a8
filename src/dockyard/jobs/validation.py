"""Validating a screen's target: redock its reference ligand before the library.

With ``validate=true`` a screen gets one more child job (kind ``screen_validation``), stored
before its chunks so runners, which take pending jobs in id order, start it first. It docks
the reference ligand from its chemistry alone (its SMILES, protonated for the screen's pH and
embedded afresh; never its crystal pose) into the screen's receptor and box with the screen's
options, and compares every pose with the reference: if Vina cannot find the known pose here,
the screen's ranking deserves little trust.
"""

from __future__ import annotations

from typing import Any

from dockyard.chem import PreparedReceptor, dock, ligand_from_smiles
from dockyard.errors import InputError
from dockyard.jobs.evidence import check_poses, evidence_inputs
from dockyard.jobs.files import PDBQT_MEDIA, POSES_PDBQT, POSES_SDF, RECEPTOR_PDBQT, SDF_MEDIA
from dockyard.jobs.models import Job
from dockyard.jobs.params import ScreenParams
from dockyard.jobs.store import Store, StoredFile


def run_validation(
    store: Store, job: Job, report: Any, cpu: int
) -> tuple[dict[str, Any], list[StoredFile]]:
    """Redock the screen's reference ligand; the results hold the poses and ``validation``."""
    from dockyard.chem.evidence import reference_smiles

    screen = store.get_job(job.parent_id)
    params = ScreenParams.from_job(screen)
    inputs = evidence_inputs(store, screen.id)
    if inputs.reference is None:
        raise InputError("The screen has no reference ligand to redock.", field="validate")
    report("preparing the reference ligand", 0.02)
    smiles = reference_smiles(inputs.reference)
    ligand = ligand_from_smiles(smiles, name="reference ligand", ph=params.ph)
    receptor = PreparedReceptor(store.read_file(screen.id, RECEPTOR_PDBQT).content.decode())
    result = dock(receptor, ligand, params.search_box(), params.docking_options(cpu), report)
    report("checking poses", 0.99)
    fields, warnings, poses_sdf = check_poses(inputs, result.poses_sdf)
    results = result.to_dict()
    for pose, evidence in zip(results["poses"], fields, strict=False):
        pose.update(evidence)
    results["warnings"] = [*results["warnings"], *warnings]
    results["smiles"] = ligand.smiles
    results["validation"] = summary(results["poses"], result.best_score)
    files = [
        StoredFile(POSES_PDBQT, result.poses_pdbqt.encode(), PDBQT_MEDIA),
        StoredFile(POSES_SDF, poses_sdf.encode(), SDF_MEDIA),
    ]
    return results, files


def summary(poses: list[dict[str, Any]], best_score: float) -> dict[str, Any]:
    """The top pose's RMSD to the reference, the closest pose's RMSD and rank, the top score."""
    rmsds = [pose.get("rmsd_to_reference") for pose in poses]
    known = [(rmsd, rank) for rank, rmsd in enumerate(rmsds, start=1) if rmsd is not None]
    best_rmsd, best_rank = min(known) if known else (None, None)
    return {
        "top1_rmsd": rmsds[0] if rmsds else None,
        "best_rmsd": best_rmsd,
        "best_rank": best_rank,
        "best_score": best_score,
    }
