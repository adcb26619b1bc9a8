"""Per-pose evidence that a docking can be trusted: RMSD to a reference ligand, plausibility.

Run on the worker when a docking ends (and for a screen's best ligands), never in the web
process: each pose gets ``rmsd_to_reference`` (Å, with ``rmsd_kind`` and ``mcs_atoms``; see
:mod:`dockyard.chem.rmsd`) when a reference ligand was given, and ``plausibility`` (see
:mod:`dockyard.chem.plausibility`) when the prepared receptor is known. The same values are
written into the poses' SDF as properties. A check that cannot run leaves a warning, never a
failed docking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rdkit import Chem
from rdkit.rdBase import BlockLogs

from dockyard.chem.core.requests import InputFile
from dockyard.chem.ligand.prepare import ligand_from_file
from dockyard.chem.ligand.read import parse_molecule, read_molecule, read_pdb_ligand
from dockyard.chem.plausibility import check_poses, read_receptor
from dockyard.chem.poses import add_sdf_properties, connectivity_only
from dockyard.chem.rmsd import rmsd_to_reference
from dockyard.errors import InputError


@dataclass
class PoseEvidence:
    """One dict of fields per pose (empty when nothing could be checked), and why not."""

    poses: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)


def read_reference(reference: InputFile) -> Chem.Mol:
    """A reference ligand's atoms, bonds and first conformer, unsanitized: only its heavy-atom
    skeleton is compared, so charges, bond orders and missing hydrogens do not matter."""
    with BlockLogs():
        if reference.format == "pdb":
            mol = Chem.MolFromPDBBlock(reference.text, sanitize=False, removeHs=False)
        elif reference.format == "pdbqt":
            mol = connectivity_only(reference.text)
        else:
            mol = parse_molecule(reference.text, reference.format, sanitize=False)
    if mol is None or mol.GetNumAtoms() == 0 or mol.GetNumConformers() == 0:
        raise ValueError("no atoms with coordinates could be read from it")
    return mol


def reference_smiles(reference: InputFile) -> str:
    """The reference ligand's chemistry alone, for redocking it: its SMILES, with the
    stereochemistry of its 3D coordinates (the pose itself is never used)."""
    field_name = "reference_ligand"
    if reference.format == "pdbqt":
        smiles = ligand_from_file(reference.text, "pdbqt", field=field_name).smiles
        if not smiles:
            raise InputError(
                "The reference_ligand PDBQT has no SMILES remark, so its chemistry is unknown; "
                "upload it as SDF or MOL2 to validate the target.",
                field=field_name,
            )
        return smiles
    if reference.format == "pdb":
        mol = read_pdb_ligand(reference.text, field_name)
    else:
        mol = read_molecule(reference.text, reference.format, field_name)
    Chem.AssignStereochemistryFrom3D(mol)
    return Chem.MolToSmiles(Chem.RemoveHs(mol))


def read_sdf_poses(poses_sdf: str) -> list[Chem.Mol]:
    """The poses of an SDF as written by :func:`~dockyard.chem.poses.poses_to_sdf`, in order;
    ValueError if one cannot be read (the evidence would be given to the wrong poses)."""
    supplier = Chem.SDMolSupplier()
    with BlockLogs():
        supplier.SetData(poses_sdf, sanitize=False, removeHs=False)
        poses = list(supplier)
    if any(pose is None for pose in poses):
        raise ValueError("a pose of the SDF cannot be read")
    return poses


def pose_evidence(
    poses: Sequence[Chem.Mol],
    *,
    reference: InputFile | None = None,
    receptor_pdb: str | None = None,
) -> PoseEvidence:
    """The evidence fields of each pose, as far as the inputs allow."""
    evidence = PoseEvidence([{} for _ in poses])
    if reference is not None:
        try:
            rmsds = rmsd_to_reference(poses, read_reference(reference))
        except Exception as error:  # one bad reference must not fail a finished docking
            evidence.warnings.append(f"No RMSD to the reference ligand: {error}.")
        else:
            for fields, rmsd in zip(evidence.poses, rmsds, strict=True):
                fields.update(rmsd.to_dict())
    if receptor_pdb is not None and poses:
        try:
            around = np.vstack([pose.GetConformer().GetPositions() for pose in poses])
            receptor = read_receptor(receptor_pdb, around)
            if receptor is None:
                raise ValueError("the prepared receptor could not be read")
            checks = check_poses(poses, receptor)
        except Exception as error:  # PoseBusters failing leaves the poses unchecked
            evidence.warnings.append(f"The poses' plausibility could not be checked: {error}.")
        else:
            for fields, check in zip(evidence.poses, checks, strict=True):
                fields["plausibility"] = check.to_dict()
    return evidence


def annotate_sdf(poses_sdf: str, evidence: PoseEvidence) -> str:
    """The SDF with each pose's evidence as properties (``rmsd_to_reference``, ``rmsd_kind``,
    ``mcs_atoms``, ``plausible``, ``plausibility_failed``)."""
    properties = []
    for fields in evidence.poses:
        values: dict[str, object] = {}
        if "rmsd_kind" in fields:
            if fields["rmsd_to_reference"] is not None:
                values["rmsd_to_reference"] = f"{fields['rmsd_to_reference']:.3f}"
            values["rmsd_kind"] = fields["rmsd_kind"]
            values["mcs_atoms"] = fields["mcs_atoms"]
        if "plausibility" in fields:
            values["plausible"] = int(fields["plausibility"]["valid"])
            if fields["plausibility"]["failed"]:
                values["plausibility_failed"] = " ".join(fields["plausibility"]["failed"])
        properties.append(values)
    return add_sdf_properties(poses_sdf, properties)
