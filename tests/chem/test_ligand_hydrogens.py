"""Ligand files without hydrogens get them from their bond orders, never radicals; charge
states at pH 7.4 match known pKa values."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdkit import Chem

from dockyard.chem.ligand.charge import protonate_ligand
from dockyard.chem.ligand.prepare import ligand_from_file
from dockyard.chem.ligand.read import read_molecule, read_pdb_ligand
from dockyard.errors import InputError
from tests.conftest import EXAMPLE, TEST_DATA

CRYSTAL_LIGANDS = [
    *sorted((TEST_DATA / "posebusters").glob("*/*_ligand.sdf")),
    EXAMPLE / "1iep_ligand.sdf",
]


def _tripos_type(atom: Chem.Atom) -> str:
    """The SYBYL type most tools write for an atom (hydrogen-free MOL2 export)."""
    symbol = atom.GetSymbol()
    if atom.GetIsAromatic() and symbol in ("C", "N"):
        return f"{symbol}.ar"
    orders = {bond.GetBondType() for bond in atom.GetBonds()}
    if symbol == "C":
        if Chem.BondType.TRIPLE in orders:
            return "C.1"
        return "C.2" if Chem.BondType.DOUBLE in orders else "C.3"
    if symbol == "N":
        if atom.GetFormalCharge() == 1 and Chem.BondType.DOUBLE not in orders:
            return "N.4"
        if Chem.BondType.DOUBLE in orders:
            return "N.2"
        amide = any(
            other.GetSymbol() == "O" and bond.GetBondType() == Chem.BondType.DOUBLE
            for neighbour in atom.GetNeighbors()
            for bond in neighbour.GetBonds()
            for other in (bond.GetOtherAtom(neighbour),)
        )
        return "N.am" if amide else "N.3"
    if symbol == "O":
        return "O.2" if Chem.BondType.DOUBLE in orders else "O.3"
    return {"S": "S.3", "P": "P.3"}.get(symbol, symbol)


def mol2_without_hydrogens(mol: Chem.Mol) -> str:
    """A heavy-atom MOL2 with Kekulé-free aromatic bonds ("ar"), as exporters write it."""
    mol = Chem.RemoveHs(mol)
    positions = mol.GetConformer().GetPositions()
    lines = ["@<TRIPOS>MOLECULE", "ligand", f"{mol.GetNumAtoms()} {mol.GetNumBonds()} 0 0 0"]
    lines += ["SMALL", "NO_CHARGES", "", "@<TRIPOS>ATOM"]
    for atom, (x, y, z) in zip(mol.GetAtoms(), positions, strict=True):
        name = f"{atom.GetSymbol()}{atom.GetIdx() + 1}"
        lines.append(
            f"{atom.GetIdx() + 1:>7} {name:<6}{x:10.4f}{y:10.4f}{z:10.4f} "
            f"{_tripos_type(atom):<6} 1 LIG 0.0000"
        )
    lines.append("@<TRIPOS>BOND")
    for number, bond in enumerate(mol.GetBonds(), start=1):
        order = "ar" if bond.GetIsAromatic() else str(int(bond.GetBondTypeAsDouble()))
        lines.append(
            f"{number:>6}{bond.GetBeginAtomIdx() + 1:>6}{bond.GetEndAtomIdx() + 1:>6} {order}"
        )
    return "\n".join(lines) + "\n"


def _radicals(mol: Chem.Mol) -> int:
    return sum(atom.GetNumRadicalElectrons() for atom in mol.GetAtoms())


@pytest.mark.parametrize("path", CRYSTAL_LIGANDS, ids=lambda path: path.parent.name)
def test_hydrogen_free_files_prepare_as_the_reference_molecule(path: Path):
    crystal = Chem.MolFromMolFile(str(path))
    reference = ligand_from_file(Chem.MolToMolBlock(Chem.AddHs(crystal, addCoords=True)), "sdf")
    files = {
        "mol2": mol2_without_hydrogens(crystal),
        "pdb": Chem.MolToPDBBlock(crystal),  # bond orders as repeated CONECT records
        "sdf": Chem.MolToMolBlock(crystal),
    }
    assert not any(atom.GetAtomicNum() == 1 for atom in crystal.GetAtoms())
    for kind, text in files.items():
        if kind == "pdb":
            read = read_pdb_ligand(text, "ligand")
        else:
            read = read_molecule(text, kind, "ligand")
        assert _radicals(read) == 0, kind
        ligand = ligand_from_file(text, kind)
        assert ligand.smiles == reference.smiles, kind
        assert "TORSDOF" in ligand.pdbqt


def test_rdkit_alone_would_make_radicals_of_a_hydrogen_free_mol2():
    """The defect this reading fixes: proof that the test above can fail."""
    crystal = Chem.MolFromMolFile(str(EXAMPLE / "1iep_ligand.sdf"))
    naive = Chem.MolFromMol2Block(mol2_without_hydrogens(crystal), removeHs=False)
    assert naive is not None and _radicals(naive) > 0
    assert _radicals(read_molecule(mol2_without_hydrogens(crystal), "mol2", "ligand")) == 0


BENZOATE_MOL2 = """@<TRIPOS>MOLECULE
benzoate
9 9 0 0 0
SMALL
NO_CHARGES

@<TRIPOS>ATOM
      1 C1    0.0000    1.4000    0.0000 C.ar   1 LIG 0.0
      2 C2    1.2124    0.7000    0.0000 C.ar   1 LIG 0.0
      3 C3    1.2124   -0.7000    0.0000 C.ar   1 LIG 0.0
      4 C4    0.0000   -1.4000    0.0000 C.ar   1 LIG 0.0
      5 C5   -1.2124   -0.7000    0.0000 C.ar   1 LIG 0.0
      6 C6   -1.2124    0.7000    0.0000 C.ar   1 LIG 0.0
      7 C7    0.0000    2.9000    0.0000 C.2    1 LIG 0.0
      8 O1    1.1000    3.5000    0.0000 O.co2  1 LIG 0.0
      9 O2   -1.1000    3.5000    0.0000 O.co2  1 LIG 0.0
@<TRIPOS>BOND
     1     1     2 ar
     2     2     3 ar
     3     3     4 ar
     4     4     5 ar
     5     5     6 ar
     6     6     1 ar
     7     1     7 1
     8     7     8 ar
     9     7     9 ar
"""
"""Benzoic acid without hydrogens, its carboxylate written with "ar" bonds as SYBYL does."""


def test_a_hydrogen_free_mol2_carboxylate_with_aromatic_bonds_reads_as_the_acid():
    mol = read_molecule(BENZOATE_MOL2, "mol2", "ligand")
    assert _radicals(mol) == 0
    assert Chem.MolToSmiles(mol) == "O=C(O)c1ccccc1"
    assert ligand_from_file(BENZOATE_MOL2, "mol2").smiles == "O=C([O-])c1ccccc1"


def test_pdb_with_single_bond_conect_for_an_aromatic_ring_is_refused_naming_the_atom():
    crystal = Chem.MolFromMolFile(str(EXAMPLE / "1iep_ligand.sdf"))
    lines = Chem.MolToPDBBlock(crystal).splitlines()
    single = []
    for line in lines:
        if line.startswith("CONECT"):
            numbers = line[6:].split()
            line = "CONECT" + "".join(f"{n:>5}" for n in dict.fromkeys(numbers))
        single.append(line)
    with pytest.raises(InputError, match=r"atom \d+ \(\w+\) is in a bond too short") as caught:
        ligand_from_file("\n".join(single) + "\n", "pdb")
    assert caught.value.field == "ligand"


def test_a_radical_in_an_sdf_is_refused_naming_the_atom():
    block = Chem.MolToMolBlock(Chem.MolFromSmiles("C[CH2]"))
    assert "M  RAD" in block
    with pytest.raises(InputError, match=r"unpaired\) electrons on atom 2 \(C\)") as caught:
        ligand_from_file(block, "sdf")
    assert caught.value.code == "radical_ligand"


CHARGE_STATES = [
    # name, SMILES, net charge at pH 7.4, pKa that decides it
    ("phenol", "Oc1ccccc1", 0, "10.0"),
    ("paracetamol", "CC(=O)Nc1ccc(O)cc1", 0, "9.5 (phenol)"),
    ("ibuprofen", "CC(C)Cc1ccc(cc1)C(C)C(=O)O", -1, "4.9 (carboxylic acid)"),
    ("propranolol", "CC(C)NCC(O)COc1cccc2ccccc12", 1, "9.5 (secondary amine)"),
    ("pyridine", "c1ccncc1", 0, "5.2 (pyridinium)"),
    ("benzamidine", "NC(=N)c1ccccc1", 1, "11.6 (amidinium)"),
    ("thymine", "Cc1c[nH]c(=O)[nH]c1=O", 0, "9.9 (imide)"),
    ("warfarin", "CC(=O)CC(c1ccccc1)c1c(O)c2ccccc2oc1=O", -1, "5.0 (4-hydroxycoumarin)"),
    (
        "morphine",
        "CN1CC[C@]23c4c5ccc(O)c4O[C@H]2[C@@H](O)C=C[C@H]3[C@H]1C5",
        1,
        "8.2 amine, 9.9 phenol",
    ),
]


@pytest.mark.parametrize(("name", "smiles", "charge", "pka"), CHARGE_STATES)
def test_charge_state_at_ph_7_4_follows_known_pka(name: str, smiles: str, charge: int, pka: str):
    protonated, _note = protonate_ligand(Chem.MolFromSmiles(smiles), 7.4)
    assert Chem.GetFormalCharge(protonated) == charge, f"{name}, pKa {pka}"
