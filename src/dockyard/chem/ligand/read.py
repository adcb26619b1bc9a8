"""Reading ligand molecules with RDKit: SDF, MOL, MOL2 and PDB, refusing what Vina cannot dock.

Each error names the field and says what is wrong: not that format, chemically invalid, an
element Vina cannot type, or a PDB whose bond orders cannot be known.

Many tools write ligands without hydrogens. Such a molecule gets its hydrogens from its bond
orders (the MOL2 bond block and atom types, the SDF bond block, a PDB's CONECT records), never
radical electrons: RDKit's MOL2 reader alone would make every carbon of a hydrogen-free MOL2
a radical. A molecule that still has an atom with unpaired electrons is refused when it is
prepared (:func:`dockyard.chem.ligand.prepare.radical_problem`, unless the user accepts it).
"""

from __future__ import annotations

import re
from itertools import combinations

from rdkit import Chem
from rdkit.Chem import rdDetermineBonds
from rdkit.rdBase import BlockLogs

from dockyard.errors import InputError

LIGAND_ELEMENTS = frozenset({"H", "C", "N", "O", "F", "Si", "P", "S", "Cl", "Br", "I"})
"""Elements Vina can type in a ligand. Boron, arsenic, selenium, metals … are refused:
Vina 1.2 stops on them ("Atom type B is not a valid AutoDock type")."""

MAX_HEAVY_ATOMS = 200
"""Beyond this a "ligand" is almost always a protein or complex uploaded by mistake."""


def count_molecules(text: str, kind: str) -> int:
    """How many molecules an SDF or MOL2 text holds."""
    if kind == "mol2":
        return max(1, text.count("@<TRIPOS>MOLECULE"))
    if kind == "sdf":
        blocks = re.split(r"^\$\$\$\$[^\n]*\n?", text, flags=re.MULTILINE)
        return max(1, sum(1 for block in blocks if block.strip()))
    return 1


def read_molecule(text: str, kind: str, field_name: str) -> Chem.Mol:
    """The first molecule of an SDF, MOL or MOL2 text, sanitized; InputError saying why not."""
    with BlockLogs():
        mol = parse_molecule(text, kind, sanitize=True)
        if mol is None:
            raw = parse_molecule(text, kind, sanitize=False)
            if raw is None or raw.GetNumAtoms() == 0:
                raise InputError(
                    f"No molecule could be read from the {field_name} file "
                    f"(is it really {kind.upper()}?).",
                    field=field_name,
                )
            raise InputError(
                f"The {field_name} molecule is not chemically valid: {sanitize_problem(raw)}.",
                field=field_name,
            )
    if mol.GetNumAtoms() == 0:
        raise InputError(f"The {field_name} file holds a molecule with no atoms.", field=field_name)
    return mol


def parse_molecule(text: str, kind: str, sanitize: bool) -> Chem.Mol | None:
    """The first molecule of an SDF/MOL/MOL2 text, or None."""
    if kind == "mol2":
        if sanitize:
            mol = Chem.MolFromMol2Block(text, sanitize=True, removeHs=False)
            if mol is not None and not any(a.GetNumRadicalElectrons() for a in mol.GetAtoms()):
                return mol
        raw = Chem.MolFromMol2Block(text, sanitize=False, removeHs=False)
        if raw is None or not sanitize:
            return raw
        return hydrogens_from_bond_orders(raw)
    block = re.split(r"^\$\$\$\$", text, maxsplit=1, flags=re.MULTILINE)[0]
    return Chem.MolFromMolBlock(block, sanitize=sanitize, removeHs=False)


def hydrogens_from_bond_orders(raw: Chem.Mol) -> Chem.Mol | None:
    """``raw`` (unsanitized) sanitized with every missing hydrogen implicit, or None.

    Each heavy atom gets the hydrogens its bonds leave room for; no atom keeps unpaired
    electrons. A file without any hydrogen carries no reliable formal charges (RDKit's MOL2
    reader guesses them from hydrogens), so they are set from valence: a four-bonded
    nitrogen (MOL2 type N.4) is a cation. Aromatic rings that only kekulize with an [nH] or
    an [n+] get it.
    """
    mol = Chem.RWMol(raw)
    _localise_open_chain_aromatic_bonds(mol)
    without_h = not any(atom.GetAtomicNum() == 1 for atom in mol.GetAtoms())
    for atom in mol.GetAtoms():
        atom.SetNumRadicalElectrons(0)
        if atom.GetAtomicNum() == 1:
            continue
        atom.SetNoImplicit(False)
        if without_h:
            atom.SetNumExplicitHs(0)
            atom.SetFormalCharge(_valence_charge(atom))
    candidate = _sanitized(mol.GetMol())
    if candidate is not None:
        return candidate
    aromatic_n = [
        atom.GetIdx()
        for atom in mol.GetAtoms()
        if atom.GetSymbol() == "N" and atom.GetIsAromatic() and atom.GetDegree() <= 3
    ]
    for count in (1, 2):
        for chosen in combinations(aromatic_n, count):
            trial = Chem.RWMol(mol)
            for index in chosen:
                atom = trial.GetAtomWithIdx(index)
                if atom.GetDegree() == 3:
                    atom.SetFormalCharge(1)
                else:
                    atom.SetNumExplicitHs(1)
            candidate = _sanitized(trial.GetMol())
            if candidate is not None:
                return candidate
    return None


def _localise_open_chain_aromatic_bonds(mol: Chem.RWMol) -> None:
    """MOL2 writes carboxylates, nitro groups and amidinium ions with "ar" bonds outside any
    ring; make one of each atom's such bonds double and the rest single."""
    mol.UpdatePropertyCache(strict=False)
    Chem.FastFindRings(mol)
    done: set[int] = set()
    for atom in mol.GetAtoms():
        open_chain = [
            bond
            for bond in atom.GetBonds()
            if bond.GetIsAromatic() and not bond.IsInRing() and bond.GetIdx() not in done
        ]
        if len(open_chain) < 2:
            continue
        for number, bond in enumerate(open_chain):
            bond.SetBondType(Chem.BondType.DOUBLE if number == 0 else Chem.BondType.SINGLE)
            bond.SetIsAromatic(False)
            done.add(bond.GetIdx())
            for end in (bond.GetBeginAtom(), bond.GetEndAtom()):
                if not end.IsInRing():
                    end.SetIsAromatic(False)


def _valence_charge(atom: Chem.Atom) -> int:
    """+1 for a nitrogen with four bonds (or typed N.4), else 0."""
    if atom.GetSymbol() != "N":
        return 0
    tripos = atom.GetProp("_TriposAtomType") if atom.HasProp("_TriposAtomType") else ""
    order = sum(
        1.5 if bond.GetIsAromatic() else bond.GetBondTypeAsDouble() for bond in atom.GetBonds()
    )
    return 1 if tripos == "N.4" or order >= 4 else 0


def _sanitized(mol: Chem.Mol) -> Chem.Mol | None:
    """``mol`` sanitized, with its stereochemistry from its 3D coordinates, or None."""
    candidate = Chem.Mol(mol)
    try:
        with BlockLogs():
            Chem.SanitizeMol(candidate)
    except (ValueError, RuntimeError):
        return None
    if candidate.GetNumConformers() and candidate.GetConformer().Is3D():
        Chem.AssignStereochemistryFrom3D(candidate)
    return candidate


SINGLE_BOND_LENGTHS = {
    frozenset({"C"}): 1.54,
    frozenset({"C", "N"}): 1.47,
    frozenset({"C", "O"}): 1.43,
    frozenset({"N"}): 1.45,
    frozenset({"C", "S"}): 1.82,
}
"""Å: typical single-bond lengths; a bond clearly shorter is a double or aromatic one."""


def _short_single_bond(mol: Chem.Mol) -> Chem.Atom | None:
    """An atom of a bond that is single in ``mol`` but too short to be one, or None."""
    positions = mol.GetConformer().GetPositions()
    for bond in mol.GetBonds():
        if bond.GetBondType() != Chem.BondType.SINGLE:
            continue
        first, second = bond.GetBeginAtom(), bond.GetEndAtom()
        single = SINGLE_BOND_LENGTHS.get(frozenset({first.GetSymbol(), second.GetSymbol()}))
        length = float(((positions[first.GetIdx()] - positions[second.GetIdx()]) ** 2).sum())
        if single is not None and length**0.5 < single - 0.1:
            return first
    return None


def _pdb_without_hydrogens(text: str, field_name: str) -> Chem.Mol:
    """A heavy-atom PDB ligand: bonds and bond orders from its CONECT records (RDKit reads a
    repeated CONECT as a double bond), hydrogens from them; refused naming an atom whose
    bond orders the file does not give."""
    with BlockLogs():
        mol = Chem.MolFromPDBBlock(text, sanitize=False, removeHs=False, proximityBonding=False)
    if mol is None or mol.GetNumBonds() == 0:
        raise InputError(
            f"The {field_name} PDB file has neither hydrogens nor CONECT records, so its bond "
            "orders cannot be known (a PDB file does not store them); upload it as SDF or "
            "MOL2, or give its SMILES.",
            field=field_name,
        )
    check_elements(mol, field_name)
    if all(bond.GetBondType() == Chem.BondType.SINGLE for bond in mol.GetBonds()):
        atom = _short_single_bond(mol)
        if atom is not None:
            raise InputError(
                f"The {field_name} PDB file has no hydrogens and its CONECT records give only "
                f"single bonds, but atom {atom.GetIdx() + 1} ({_pdb_atom_name(atom)}) is in a "
                "bond too short to be single: its bond orders cannot be known; upload it as "
                "SDF or MOL2, or give its SMILES.",
                field=field_name,
            )
    found = hydrogens_from_bond_orders(mol)
    if found is None:
        raise InputError(
            f"The {field_name} PDB file has no hydrogens and its CONECT bond orders do not "
            f"make a valid molecule: {sanitize_problem(Chem.Mol(mol))}; upload it as SDF or "
            "MOL2, or give its SMILES.",
            field=field_name,
        )
    return found


def _pdb_atom_name(atom: Chem.Atom) -> str:
    info = atom.GetPDBResidueInfo()
    return info.GetName().strip() if info is not None else atom.GetSymbol()


def read_pdb_ligand(text: str, field_name: str) -> Chem.Mol:
    """A ligand from PDB atoms: with hydrogens, bonds from distances and bond orders from the
    hydrogens; without, bonds and bond orders from the CONECT records."""
    with BlockLogs():
        mol = Chem.MolFromPDBBlock(text, sanitize=False, removeHs=False, proximityBonding=True)
    if mol is None or mol.GetNumAtoms() == 0:
        raise InputError(
            f"No molecule could be read from the {field_name} file (is it really PDB?).",
            field=field_name,
        )
    if not any(atom.GetAtomicNum() == 1 for atom in mol.GetAtoms()):
        return _pdb_without_hydrogens(text, field_name)
    check_elements(mol, field_name)
    for charge in (0, 1, -1, 2, -2):
        candidate = Chem.Mol(mol)
        try:
            with BlockLogs():
                rdDetermineBonds.DetermineBondOrders(candidate, charge=charge)
                Chem.SanitizeMol(candidate)
        except (ValueError, RuntimeError):
            continue
        return candidate
    raise InputError(
        f"The bond orders of the {field_name} PDB file could not be worked out from its "
        "geometry and hydrogens; upload it as SDF or MOL2, or give its SMILES.",
        field=field_name,
    )


def sanitize_problem(mol: Chem.Mol) -> str:
    """What RDKit finds wrong with a molecule it could not sanitize."""
    try:
        Chem.SanitizeMol(mol)
    except Exception as error:
        return str(error).strip() or type(error).__name__
    return "RDKit could not process it"


def check_elements(mol: Chem.Mol, field_name: str) -> None:
    """InputError naming the first atom whose element Vina cannot type."""
    for atom in mol.GetAtoms():
        symbol = atom.GetSymbol()
        if symbol not in LIGAND_ELEMENTS:
            allowed = ", ".join(sorted(LIGAND_ELEMENTS))
            raise InputError(
                f"The {field_name} contains {symbol} (atom {atom.GetIdx() + 1}), an element "
                f"Vina cannot type; supported elements are {allowed}.",
                field=field_name,
            )
