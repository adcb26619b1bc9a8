"""Starting ring conformations: Vina keeps rings rigid, so a cyclohexane docked from one chair
can never reach the other. A ligand with a non-aromatic ring that can pucker is docked from a
few conformers whose rings differ (RDKit ETKDG, tidied by MMFF, pruned by the heavy-atom RMSD
of those ring atoms after superposing them); a flat or acyclic ligand from its one conformer.
"""

from __future__ import annotations

import numpy as np
from meeko import PDBQTMolecule, RDKitMolCreate
from rdkit import Chem
from rdkit.Chem import AllChem
from rdkit.rdBase import BlockLogs

from dockyard.chem.ligand.prepare import PreparedLigand, meeko_pdbqt

RING_RMSD = 0.3
"""Å: ring conformations closer than this (ring heavy atoms, superposed) count as one."""
EMBED_ATTEMPTS = 8
"""ETKDG conformers embedded to find the distinct ring conformations among."""
ENERGY_WINDOW = 5.0
"""kcal/mol (MMFF) above the lowest conformer beyond which a ring conformation is not tried:
a twist-boat cyclohexane (5.5 above the chair) is left out."""
SEED = 0xF00D


def puckering_rings(mol: Chem.Mol) -> list[tuple[int, ...]]:
    """Rings of 5 to 7 atoms, not aromatic, with at least two sp3 atoms: the ones that pucker
    (larger rings are macrocycles, which Meeko makes flexible)."""
    found = []
    for ring in mol.GetRingInfo().AtomRings():
        atoms = [mol.GetAtomWithIdx(index) for index in ring]
        sp3 = sum(atom.GetHybridization() == Chem.HybridizationType.SP3 for atom in atoms)
        if 5 <= len(ring) <= 7 and not all(atom.GetIsAromatic() for atom in atoms) and sp3 >= 2:
            found.append(ring)
    return found


def ring_conformers(ligand: PreparedLigand, count: int) -> list[str]:
    """The ligand's PDBQT, then up to ``count - 1`` PDBQTs of other ring conformations."""
    if count <= 1 or not ligand.smiles:
        return [ligand.pdbqt]
    mol = _from_pdbqt(ligand.pdbqt)
    rings = puckering_rings(mol) if mol is not None else []
    if not rings:
        return [ligand.pdbqt]
    ring_atoms = sorted({index for ring in rings for index in ring})
    embedded = Chem.Mol(mol)
    embedded.RemoveAllConformers()
    params = AllChem.ETKDGv3()
    params.randomSeed = SEED
    with BlockLogs():
        ids = list(AllChem.EmbedMultipleConfs(embedded, EMBED_ATTEMPTS, params))
        energies = [0.0] * len(ids)
        if ids and AllChem.MMFFHasAllMoleculeParams(embedded):
            done = AllChem.MMFFOptimizeMoleculeConfs(embedded, maxIters=500)
            energies = [energy for _converged, energy in done]
    lowest = min(energies, default=0.0)
    kept = [mol.GetConformer().GetPositions()[ring_atoms]]
    texts = [ligand.pdbqt]
    for conf_id, energy in sorted(zip(ids, energies, strict=True), key=lambda item: item[1]):
        if energy - lowest > ENERGY_WINDOW:
            break
        xyz = embedded.GetConformer(conf_id).GetPositions()[ring_atoms]
        if min(_superposed_rmsd(xyz, other) for other in kept) < RING_RMSD:
            continue
        single = Chem.Mol(embedded, confId=conf_id)
        try:
            texts.append(meeko_pdbqt(single, "ligand"))
        except Exception:
            continue
        kept.append(xyz)
        if len(texts) == count:
            break
    return texts


def _from_pdbqt(text: str) -> Chem.Mol | None:
    """The molecule with hydrogens and coordinates that Meeko wrote into a PDBQT, or None."""
    try:
        with BlockLogs():
            mols = RDKitMolCreate.from_pdbqt_mol(PDBQTMolecule(text, skip_typing=True))
    except Exception:
        return None
    if not mols or mols[0] is None:
        return None
    mol = Chem.AddHs(mols[0], addCoords=True)
    Chem.AssignStereochemistryFrom3D(mol)
    return mol


def _superposed_rmsd(first: np.ndarray, second: np.ndarray) -> float:
    """RMSD of two point sets with the same order after the best rotation (Kabsch)."""
    a = first - first.mean(axis=0)
    b = second - second.mean(axis=0)
    u, _s, vt = np.linalg.svd(a.T @ b)
    sign = np.sign(np.linalg.det(u @ vt))
    rotation = u @ np.diag([1.0, 1.0, sign]) @ vt
    return float(np.sqrt((((a @ rotation) - b) ** 2).sum(axis=1).mean()))
