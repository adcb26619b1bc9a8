"""Simple molecular properties shown beside screening scores."""

from __future__ import annotations

from dataclasses import dataclass

from rdkit import Chem
from rdkit.Chem import Crippen, Descriptors


@dataclass(frozen=True)
class Properties:
    canonical_smiles: str
    heavy_atoms: int
    molecular_weight: float
    logp: float


def describe(smiles: str) -> Properties:
    """Properties of a molecule given as SMILES (hydrogens implicit, as chemists count them)."""
    molecule = Chem.MolFromSmiles(smiles)
    if molecule is None:
        raise ValueError(f"not a SMILES: {smiles!r}")
    return Properties(
        canonical_smiles=Chem.MolToSmiles(molecule),
        heavy_atoms=molecule.GetNumHeavyAtoms(),
        molecular_weight=round(Descriptors.MolWt(molecule), 2),
        logp=round(Crippen.MolLogP(molecule), 2),
    )


def ligand_efficiency(score: float, heavy_atoms: int) -> float:
    """Binding energy per heavy atom (kcal/mol), higher is better: -score / heavy atoms."""
    return round(-score / heavy_atoms, 3) if heavy_atoms else 0.0
