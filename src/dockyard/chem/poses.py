"""Docked poses: Vina's PDBQT output read back into scores and an SDF people can open.

Meeko's ``REMARK SMILES`` lines in the ligand PDBQT let RDKit rebuild each pose with its
bond orders and hydrogens. A PDBQT ligand prepared elsewhere has no such remarks; its
poses are still exported, with connectivity from distances and single bonds only.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from meeko import PDBQTMolecule, RDKitMolCreate
from rdkit import Chem
from rdkit.rdBase import BlockLogs

from dockyard.chem.core import pdbqt
from dockyard.chem.core.atom_lines import atom_line
from dockyard.chem.core.elements import DUMMY_TYPES, element


@dataclass
class Pose:
    """One docked pose; energies in kcal/mol, RMSDs in Å from the best pose."""

    rank: int
    affinity: float
    inter: float
    intra: float
    torsions: float
    rmsd_lb: float
    rmsd_ub: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def read_poses(energies: Sequence[Sequence[float]], poses_pdbqt: str) -> list[Pose]:
    """Poses from Vina's energy rows and the RMSD bounds in its ``REMARK VINA RESULT`` lines.

    Each energy row is (total, inter, intra, torsions, intra of the best pose).
    """
    bounds = []
    for line in poses_pdbqt.splitlines():
        if line.startswith("REMARK VINA RESULT:"):
            _score, lower, upper = line.split(":", 1)[1].split()[:3]
            bounds.append((float(lower), float(upper)))
    return [
        Pose(
            rank=rank,
            affinity=float(row[0]),
            inter=float(row[1]),
            intra=float(row[2]),
            torsions=float(row[3]),
            rmsd_lb=lower,
            rmsd_ub=upper,
        )
        for rank, (row, (lower, upper)) in enumerate(zip(energies, bounds, strict=True), 1)
    ]


def split_models(poses_pdbqt: str) -> list[str]:
    models, current = [], []
    for line in poses_pdbqt.splitlines():
        if line.startswith("MODEL"):
            current = []
        elif line.startswith("ENDMDL"):
            models.append("\n".join(current) + "\n")
        else:
            current.append(line)
    return models


def poses_to_sdf(
    poses_pdbqt: str, poses: list[Pose], name: str, extra: dict[str, object] | None = None
) -> tuple[str, bool]:
    """An SDF with one record per pose carrying its scores; and whether bond orders are real."""
    try:
        with BlockLogs():
            mols = RDKitMolCreate.from_pdbqt_mol(PDBQTMolecule(poses_pdbqt, skip_typing=True))
    except Exception:  # Meeko cannot rebuild every molecule; fall back to connectivity only
        mols = []
    mol = mols[0] if mols else None
    if mol is not None:
        mol.ClearProp("meeko")
        records = [(mol, conformer.GetId()) for conformer in mol.GetConformers()]
    else:
        records = [(connectivity_only(model), -1) for model in split_models(poses_pdbqt)]
    out = io.StringIO()
    writer = Chem.SDWriter(out)
    for pose, (record, conf_id) in zip(poses, records, strict=True):
        record.SetProp("_Name", name)
        record.SetIntProp("rank", pose.rank)
        record.SetProp("vina_affinity", f"{pose.affinity:.3f}")
        record.SetProp("vina_inter", f"{pose.inter:.3f}")
        record.SetProp("vina_intra", f"{pose.intra:.3f}")
        record.SetProp("rmsd_lb", f"{pose.rmsd_lb:.3f}")
        record.SetProp("rmsd_ub", f"{pose.rmsd_ub:.3f}")
        for key, value in (extra or {}).items():
            record.SetProp(key, str(value))
        writer.write(record, confId=conf_id)
    writer.close()
    return out.getvalue(), mol is not None


def connectivity_only(model: str) -> Chem.Mol:
    """A pose (or any PDBQT molecule) as an RDKit molecule bonded by distance, for PDBQT files
    without SMILES."""
    lines = []
    for serial, atom in enumerate(pdbqt.read_atoms(model, "poses"), start=1):
        if atom.ad_type in DUMMY_TYPES:
            continue
        symbol = element(atom.ad_type).upper()
        xyz = (atom.x, atom.y, atom.z)
        lines.append(
            atom_line("HETATM", serial, atom.name[:4], "UNL", "A", 1, "", xyz, element=symbol)
        )
    with BlockLogs():
        mol = Chem.MolFromPDBBlock("\n".join(lines), sanitize=False, removeHs=False)
    mol.UpdatePropertyCache(strict=False)
    return mol


def add_sdf_properties(sdf: str, properties: Sequence[dict[str, object]]) -> str:
    """The SDF with more properties on each record, in order; the records are otherwise kept
    byte for byte (read and written again by RDKit, a molecule could change)."""
    records = sdf.split("$$$$\n")
    out = []
    for index, record in enumerate(records[:-1]):
        values = properties[index] if index < len(properties) else {}
        extra = "".join(f">  <{key}>\n{value}\n\n" for key, value in values.items())
        out.append(record + extra + "$$$$\n")
    return "".join(out) + records[-1]
