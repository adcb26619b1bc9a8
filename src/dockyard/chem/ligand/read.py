"""Reading ligand molecules with RDKit: SDF, MOL, MOL2 and PDB, refusing what Vina cannot dock.

Each error names the field and says what is wrong: not that format, chemically invalid, an
element Vina cannot type, or a PDB whose bond orders cannot be known.
"""

from __future__ import annotations

import re

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
        return Chem.MolFromMol2Block(text, sanitize=sanitize, removeHs=False)
    block = re.split(r"^\$\$\$\$", text, maxsplit=1, flags=re.MULTILINE)[0]
    return Chem.MolFromMolBlock(block, sanitize=sanitize, removeHs=False)


def read_pdb_ligand(text: str, field_name: str) -> Chem.Mol:
    """A ligand from PDB atoms: bonds from distances, bond orders from the hydrogens."""
    with BlockLogs():
        mol = Chem.MolFromPDBBlock(text, sanitize=False, removeHs=False, proximityBonding=True)
    if mol is None or mol.GetNumAtoms() == 0:
        raise InputError(
            f"No molecule could be read from the {field_name} file (is it really PDB?).",
            field=field_name,
        )
    if not any(atom.GetAtomicNum() == 1 for atom in mol.GetAtoms()):
        raise InputError(
            f"The {field_name} PDB file has no hydrogens, so its bond orders cannot be "
            "known (a PDB file does not store them); upload it as SDF or MOL2, or give its "
            "SMILES.",
            field=field_name,
        )
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
