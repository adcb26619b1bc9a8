"""The evidence on a job's poses, from what the job stored: its reference ligand and receptor.

A docking checks all its poses when it ends (:mod:`dockyard.jobs.run`); a screen's chunk checks
the top pose of each ligand that ranks among the screen's best (:mod:`.screen_chunks`). The
science is :mod:`dockyard.chem.evidence`, imported only here on the worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dockyard.chem import InputFile
from dockyard.jobs.files import RECEPTOR_PREPARED_PDB, REFERENCE_UPLOAD
from dockyard.jobs.store import Store


@dataclass(frozen=True)
class EvidenceInputs:
    """What the poses of one job are checked against; either may be missing."""

    reference: InputFile | None
    receptor_pdb: str | None


def evidence_inputs(store: Store, job_id: int) -> EvidenceInputs:
    """The job's reference ligand (uploaded for its box) and prepared receptor, if stored."""
    reference = store.find_upload(job_id, REFERENCE_UPLOAD)
    receptor = store.find_upload(job_id, RECEPTOR_PREPARED_PDB.rpartition(".")[0])
    return EvidenceInputs(
        reference=reference
        and InputFile(
            reference.content.decode(), reference.name.rpartition(".")[2], reference.name
        ),
        receptor_pdb=receptor and receptor.content.decode(),
    )


def check_poses(
    inputs: EvidenceInputs, poses_sdf: str, first_only: bool = False
) -> tuple[list[dict[str, Any]], list[str], str]:
    """Each pose's evidence fields (or the first pose's only), warnings, and the SDF with the
    evidence as properties."""
    from dockyard.chem.evidence import annotate_sdf, pose_evidence, read_sdf_poses

    try:
        poses = read_sdf_poses(poses_sdf)
    except ValueError as error:
        return [], [f"The poses were not checked: {error}."], poses_sdf
    evidence = pose_evidence(
        poses[:1] if first_only else poses,
        reference=inputs.reference,
        receptor_pdb=inputs.receptor_pdb,
    )
    return evidence.poses, evidence.warnings, annotate_sdf(poses_sdf, evidence)
