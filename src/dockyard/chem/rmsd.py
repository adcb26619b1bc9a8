"""How far a pose lies from a reference ligand: heavy-atom RMSD in place, symmetry-aware.

The redocking control. Both molecules are reduced to their heavy-atom skeletons (elements and
connectivity; no hydrogens, charges or bond orders), so a pose protonated for pH 7.4 compares
with a crystal ligand drawn neutral, and a tautomer with its parent. Nothing is superposed: the
pose is where Vina put it in the receptor's frame, and so is the reference. The RMSD is the
smallest over every mapping of one skeleton onto the other, which RDKit's
``rdMolAlign.CalcRMS`` takes as a list of atom maps.

When the pose is another molecule than the reference (a screen's ligand, an analogue), the
RMSD is over their maximum common substructure (RDKit's FMCS, complete rings only, within a
time limit), reported with its size so a reader can judge how much it covers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rdkit import Chem
from rdkit.Chem import rdFMCS, rdMolAlign

SAME_MOLECULE = "same molecule"
COMMON_SUBSTRUCTURE = "common substructure"

MCS_TIMEOUT = 5
"""Seconds FMCS may search for the common substructure of two different molecules."""

MIN_MCS_ATOMS = 3
"""Fewer common atoms than this give no meaningful RMSD (a lone bond fits anywhere)."""

MAX_MAPS = 10_000
"""Atom maps tried at most: enough for every symmetry of drug-like molecules."""


@dataclass(frozen=True)
class ReferenceRMSD:
    """One pose against the reference; ``rmsd`` is None when too little of it is in common."""

    rmsd: float | None
    kind: str
    """:data:`SAME_MOLECULE` or :data:`COMMON_SUBSTRUCTURE`."""
    mcs_atoms: int
    """Heavy atoms compared (all of them for the same molecule)."""
    reference_atoms: int

    def to_dict(self) -> dict[str, object]:
        """The fields a pose carries in job results: ``rmsd_to_reference`` (Å) and its kind."""
        rmsd = None if self.rmsd is None else round(self.rmsd, 3)
        return {"rmsd_to_reference": rmsd, "rmsd_kind": self.kind, "mcs_atoms": self.mcs_atoms}


def rmsd_to_reference(
    poses: Sequence[Chem.Mol], reference: Chem.Mol, *, timeout: int = MCS_TIMEOUT
) -> list[ReferenceRMSD]:
    """The RMSD of each pose (conformers of one molecule, or one molecule each) to the
    reference's first conformer; all poses must have the same atoms in the same order."""
    if not poses:
        return []
    ref = skeleton(reference)
    probe = skeleton(poses[0])
    kind, maps, size = _atom_maps(probe, ref, timeout)
    results = []
    for pose in poses:
        rmsd = None
        if maps:
            rmsd = float(rdMolAlign.CalcRMS(skeleton(pose), ref, map=maps))
        results.append(ReferenceRMSD(rmsd, kind, size, ref.GetNumAtoms()))
    return results


def skeleton(mol: Chem.Mol) -> Chem.Mol:
    """Heavy atoms and their connectivity only, with ring information for matching."""
    editable = Chem.RWMol(mol)
    for atom in reversed(list(editable.GetAtoms())):
        if atom.GetAtomicNum() == 1:
            editable.RemoveAtom(atom.GetIdx())
    for atom in editable.GetAtoms():
        atom.SetFormalCharge(0)
        atom.SetIsAromatic(False)
        atom.SetNoImplicit(True)
        atom.SetNumExplicitHs(0)
    for bond in editable.GetBonds():
        bond.SetBondType(Chem.BondType.SINGLE)
        bond.SetIsAromatic(False)
    result = editable.GetMol()
    result.UpdatePropertyCache(strict=False)
    Chem.GetSymmSSSR(result)
    return result


def _atom_maps(
    probe: Chem.Mol, ref: Chem.Mol, timeout: int
) -> tuple[str, list[list[tuple[int, int]]], int]:
    """The kind of comparison, the (probe, reference) atom maps to minimise over, their size."""
    same_size = (probe.GetNumAtoms(), probe.GetNumBonds()) == (ref.GetNumAtoms(), ref.GetNumBonds())
    if same_size:
        matches = probe.GetSubstructMatches(ref, uniquify=False, maxMatches=MAX_MAPS)
        if matches:
            maps = [list(zip(match, range(ref.GetNumAtoms()), strict=True)) for match in matches]
            return SAME_MOLECULE, maps, ref.GetNumAtoms()
    found = rdFMCS.FindMCS(
        [ref, probe],
        timeout=timeout,
        atomCompare=rdFMCS.AtomCompare.CompareElements,
        bondCompare=rdFMCS.BondCompare.CompareAny,
        ringMatchesRingOnly=True,
        completeRingsOnly=True,
    )
    if found.numAtoms < MIN_MCS_ATOMS:
        return COMMON_SUBSTRUCTURE, [], found.numAtoms
    query = Chem.MolFromSmarts(found.smartsString)
    ref_matches = ref.GetSubstructMatches(query, uniquify=True, maxMatches=MAX_MAPS)
    probe_matches = probe.GetSubstructMatches(query, uniquify=False, maxMatches=MAX_MAPS)
    budget = max(1, MAX_MAPS // max(1, len(ref_matches)))
    maps = [
        list(zip(probe_match, ref_match, strict=True))
        for ref_match in ref_matches
        for probe_match in probe_matches[:budget]
    ]
    return COMMON_SUBSTRUCTURE, maps, found.numAtoms
