"""A ligand's charge state at a chosen pH, by Dimorphite-DL (as receptor residues get theirs in
:mod:`dockyard.chem.receptor.states`)."""

from __future__ import annotations

from rdkit import Chem
from rdkit.Chem import AllChem
from rdkit.rdBase import BlockLogs


def protonate_ligand(mol: Chem.Mol, ph: float | None) -> tuple[Chem.Mol, str | None]:
    """The most likely charge state of ``mol`` at ``ph`` (Dimorphite-DL), keeping coordinates.

    Returns the molecule with explicit hydrogens and a note if its charges changed.
    """
    if ph is None:
        return mol, None
    from dimorphite_dl import protonate_smiles

    heavy = Chem.RemoveHs(mol, sanitize=True)
    before = Chem.MolToSmiles(heavy)
    with BlockLogs():
        found = protonate_smiles(before, ph_min=ph, ph_max=ph, precision=0.0, max_variants=1)
    if not found:
        return mol, None
    with BlockLogs():
        template = Chem.MolFromSmiles(found[0])
    if template is not None:
        template = _weak_acids_neutral(_one_charge_per_diamine(template))
    if template is None or Chem.MolToSmiles(template) == before:
        return mol, None
    if heavy.GetNumConformers():
        try:
            with BlockLogs():
                result = AllChem.AssignBondOrdersFromTemplate(template, heavy)
        except ValueError:
            return mol, None
        Chem.AssignStereochemistryFrom3D(result)
        result = Chem.AddHs(result, addCoords=True)
    else:
        result = template
    result.SetProp("_Name", mol.GetProp("_Name") if mol.HasProp("_Name") else "")
    delta = Chem.GetFormalCharge(template) - Chem.GetFormalCharge(heavy)
    note = (
        f"Set the charge state for pH {ph:g} (Dimorphite-DL): {Chem.MolToSmiles(template)}"
        f" (net charge {Chem.GetFormalCharge(template):+d}, was "
        f"{Chem.GetFormalCharge(heavy):+d})."
        if delta
        else f"Set the protonation for pH {ph:g} (Dimorphite-DL): {Chem.MolToSmiles(template)}."
    )
    return result, note


def _one_charge_per_diamine(mol: Chem.Mol) -> Chem.Mol:
    """Dimorphite-DL protonates both nitrogens of a piperazine or ethylenediamine; the
    second pKa of such a pair is 4-5 units lower, so only the more basic one keeps its H+."""
    cations = [
        atom.GetIdx()
        for atom in mol.GetAtoms()
        if atom.GetSymbol() == "N"
        and atom.GetFormalCharge() == 1
        and atom.GetTotalNumHs() > 0
        and not atom.GetIsAromatic()
        and all(bond.GetBondType() == Chem.BondType.SINGLE for bond in atom.GetBonds())
    ]
    if len(cations) < 2:
        return mol
    distances = Chem.GetDistanceMatrix(mol)
    editable = Chem.RWMol(mol)
    neutral: set[int] = set()
    for i, first in enumerate(cations):
        for second in cations[i + 1 :]:
            if first in neutral or second in neutral or distances[first][second] > 3:
                continue
            weaker = max((second, first), key=lambda index: _withdrawing(mol, index))
            atom = editable.GetAtomWithIdx(weaker)
            atom.SetFormalCharge(0)
            atom.SetNumExplicitHs(max(0, atom.GetTotalNumHs() - 1))
            neutral.add(weaker)
    result = editable.GetMol()
    try:
        Chem.SanitizeMol(result)
    except ValueError:
        return mol
    return result


_PLAIN_C = "[c;!$(c-[N+](=O)[O-]);!$(c-C#N);!$(c-C=O)]"
_WEAK_ACID_ANIONS = (
    # A phenolate on a benzene ring with no nitro, cyano or carbonyl group on it: phenols have
    # pKa 9.5-10.5 (phenol 10.0, paracetamol 9.5, morphine's phenol 9.9), but Dimorphite-DL's
    # phenol pKa (7.1) deprotonates many of them at pH 7.4.
    (Chem.MolFromSmarts(f"[O-;X1]-c1{_PLAIN_C * 5}1"), 0),
    # An amide, lactam or imide nitrogen (uracil 9.5, thymine 9.9, hydantoin 9.1, glutarimide
    # 11, 2-pyridone 11): Dimorphite-DL deprotonates both NH of a uracil. Acyl sulfonamides
    # (pKa 4-5) keep their charge.
    (Chem.MolFromSmarts("[#7-;X2;$([#7]~[#6]=O);!$([#7]~[#16](=O)=O)]"), 0),
)
"""(pattern, index of the anion in it) of acids with a pKa well above 7.4."""


def _weak_acids_neutral(mol: Chem.Mol) -> Chem.Mol:
    """Give back the proton Dimorphite-DL takes from acids with a pKa well above 7.4."""
    anions = {
        match[anion]
        for pattern, anion in _WEAK_ACID_ANIONS
        for match in mol.GetSubstructMatches(pattern)
    }
    if not anions:
        return mol
    editable = Chem.RWMol(mol)
    for index in anions:
        atom = editable.GetAtomWithIdx(index)
        atom.SetFormalCharge(0)
        atom.SetNumExplicitHs(atom.GetTotalNumHs() + 1)
    result = editable.GetMol()
    try:
        Chem.SanitizeMol(result)
    except ValueError:
        return mol
    return result


def _withdrawing(mol: Chem.Mol, index: int) -> int:
    """Aromatic or carbonyl carbons next to the nitrogen's neighbours (they lower its pKa)."""
    count = 0
    for neighbour in mol.GetAtomWithIdx(index).GetNeighbors():
        for second in neighbour.GetNeighbors():
            if second.GetIdx() == index:
                continue
            carbonyl = any(bond.GetBondType() == Chem.BondType.DOUBLE for bond in second.GetBonds())
            count += second.GetIsAromatic() or carbonyl
    return count
