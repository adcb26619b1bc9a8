from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from meeko import PDBQTMolecule, RDKitMolCreate
from rdkit import Chem
from rdkit.Chem import AllChem

from dockyard.chem import LIGAND_FORMATS, PreparedLigand, ligand_from_file, ligand_from_smiles
from dockyard.chem.core.pdbqt import read_atoms
from dockyard.errors import InputError, UnsupportedFileError
from tests.conftest import TEST_DATA

from .conftest import BENZAMIDE, DATA


def canonical(smiles_or_mol: str | Chem.Mol) -> str:
    """Canonical SMILES without hydrogens, so molecules compare by their heavy-atom graph."""
    mol = Chem.MolFromSmiles(smiles_or_mol) if isinstance(smiles_or_mol, str) else smiles_or_mol
    return Chem.MolToSmiles(Chem.RemoveHs(mol))


def round_trip(ligand: PreparedLigand) -> str:
    """The molecule Meeko rebuilds from the PDBQT, as poses will be rebuilt after docking."""
    (mol,) = RDKitMolCreate.from_pdbqt_mol(PDBQTMolecule(ligand.pdbqt, skip_typing=True))
    return canonical(mol)


@pytest.mark.parametrize(
    ("smiles", "heavy"),
    [
        (BENZAMIDE, 9),
        ("CC(=O)Oc1ccccc1C(=O)O", 13),  # aspirin
        ("C[C@H](N)C(=O)O", 6),  # L-alanine: stereo must survive
        ("C[NH+]1CCN(Cc2ccc(C(=O)Nc3ccc(C)c(Nc4nccc(-c5cccnc5)n4)c3)cc2)CC1", 37),  # imatinib
        ("C1CCCCCCCCCCC1", 12),  # macrocycle: Meeko adds ring-closure pseudo atoms
        ("C[Si](C)(C)c1ccccc1", 10),  # silicon: Vina types Si
    ],
)
def test_smiles_keeps_bond_orders_and_heavy_atoms(smiles: str, heavy: int):
    ligand = ligand_from_smiles(smiles, ph=None)
    assert ligand.smiles == canonical(smiles)
    assert ligand.num_heavy_atoms == heavy
    assert round_trip(ligand) == canonical(smiles)
    assert "TORSDOF" in ligand.pdbqt
    assert ligand.notes == []


def test_smiles_embedding_is_reproducible_with_the_seed():
    first, second = ligand_from_smiles(BENZAMIDE), ligand_from_smiles(BENZAMIDE)
    assert first.pdbqt == second.pdbqt
    assert ligand_from_smiles(BENZAMIDE, seed=7).pdbqt != first.pdbqt


def test_smiles_name_from_argument_or_trailing_title():
    assert ligand_from_smiles("CCO ethanol").name == "ethanol"
    assert ligand_from_smiles("CCO ethanol", name="given").name == "given"
    assert ligand_from_smiles("CCO\tethanol").name == "ethanol"
    assert ligand_from_smiles("CCO").name == "CCO"


def test_salt_keeps_largest_fragment_and_says_so():
    ligand = ligand_from_smiles("[Na+].[O-]C(=O)c1ccccc1")
    assert ligand.smiles == canonical("[O-]C(=O)c1ccccc1")
    assert "largest of 2 fragments" in ligand.notes[0]


@pytest.mark.parametrize(
    ("smiles", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("C1CC", "not valid SMILES"),
        ("this is not smiles", "not valid SMILES"),
        ("C(C)(C)(C)(C)C", "valence"),
        ("c1cccc1", "not a valid molecule"),
        ("C[Se]C", "Se"),
        ("Cl[Pt]Cl", "Pt"),
        ("OB(O)c1ccccc1", r"B \(atom 2\), an element Vina cannot type"),
        ("C[As](C)C", r"As \(atom 2\)"),
        ("C[N](C)(C)(C)C", "valence for atom # 1 N"),
        ("C" * 201, "heavy atoms"),
    ],
)
def test_bad_smiles_is_an_input_error_on_the_smiles_field(smiles: str, message: str):
    with pytest.raises(InputError, match=message) as caught:
        ligand_from_smiles(smiles)
    assert caught.value.field == "smiles"


def test_crystal_sdf_is_prepared_in_place(example: dict[str, Path]):
    text = example["ligand"].read_text()
    ligand = ligand_from_file(text, "sdf")
    crystal = Chem.MolFromMolBlock(text, removeHs=False)
    assert ligand.name == "STI"
    assert ligand.num_heavy_atoms == 37
    assert ligand.smiles == canonical(crystal)
    assert round_trip(ligand) == canonical(crystal)
    heavy = np.array(
        [[a.x, a.y, a.z] for a in read_atoms(ligand.pdbqt, "ligand") if not a.is_hydrogen]
    )
    crystal_heavy = Chem.RemoveHs(crystal).GetConformer().GetPositions()
    assert np.allclose(heavy.mean(axis=0), crystal_heavy.mean(axis=0), atol=0.01)


def test_sdf_without_hydrogens_gets_them_with_coordinates(example: dict[str, Path]):
    crystal = Chem.MolFromMolBlock(example["ligand"].read_text())
    ligand = ligand_from_file(Chem.MolToMolBlock(crystal), "mol", name="no-H")
    polar_h = [a for a in read_atoms(ligand.pdbqt, "ligand") if a.ad_type == "HD"]
    assert ligand.name == "no-H"
    assert len(polar_h) == 3  # two amine NH and the protonated piperazine N
    assert ligand.notes == []


def test_2d_mol_block_is_embedded():
    flat = Chem.MolFromSmiles("CC(=O)Oc1ccccc1C(=O)O")
    AllChem.Compute2DCoords(flat)
    ligand = ligand_from_file(Chem.MolToMolBlock(flat), "mol")
    z = [a.z for a in read_atoms(ligand.pdbqt, "ligand")]
    assert max(z) - min(z) > 0.5
    assert "charge state for pH 7.4" in ligand.notes[0]
    assert "Generated 3D coordinates" in ligand.notes[-1]
    assert ligand.smiles == canonical("CC(=O)Oc1ccccc1C(=O)[O-]")


def test_only_first_molecule_of_an_sdf_is_used(example: dict[str, Path]):
    text = example["ligand"].read_text()
    second = Chem.MolToMolBlock(Chem.MolFromSmiles("CCO")) + "$$$$\n"
    ligand = ligand_from_file(text + second, ".SDF")
    assert ligand.num_heavy_atoms == 37


def test_mol2_file():
    ligand = ligand_from_file((DATA / "benzamide.mol2").read_text(), "mol2")
    assert ligand.name == "benzamide"
    assert ligand.smiles == canonical(BENZAMIDE)
    assert ligand.num_heavy_atoms == 9


def test_meeko_pdbqt_is_passed_through(benzamide: PreparedLigand):
    ligand = ligand_from_file(benzamide.pdbqt, "pdbqt", name="again")
    assert ligand.pdbqt.split() == benzamide.pdbqt.split()
    assert ligand.smiles == benzamide.smiles
    assert ligand.num_heavy_atoms == 9
    assert ligand.notes == []


def test_pdbqt_without_smiles_remark_still_passes_with_a_note(benzamide: PreparedLigand):
    bare = "".join(
        line + "\n" for line in benzamide.pdbqt.splitlines() if not line.startswith("REMARK")
    )
    ligand = ligand_from_file(bare, "pdbqt")
    assert ligand.smiles == ""
    assert ligand.num_heavy_atoms == 9
    assert "without bond orders" in ligand.notes[0]


def test_multi_model_pdbqt_uses_the_first_model(docked):
    ligand = ligand_from_file(docked.poses_pdbqt, "pdbqt")
    assert ligand.num_heavy_atoms == 9
    assert "first of" in ligand.notes[0]


def _break_first_atom(pdbqt: str, new_type: str) -> str:
    lines = pdbqt.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("ATOM"))
    lines[index] = lines[index][:77] + new_type
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda good: _break_first_atom(good, ""), "too short"),  # would abort Vina
        (lambda good: _break_first_atom(good, "Xx"), "'Xx'"),
        (lambda good: _break_first_atom(good, "cl"), "'cl'"),
        (lambda good: good.replace("TORSDOF", "TORSION"), "Vina cannot read"),
        (lambda good: "ROOT\nENDROOT\nTORSDOF 0\n", "no ATOM"),
        (lambda good: "ATOM  garbage\n", "too short"),
        (lambda good: good.replace("ATOM      1", "ATOM      x"), "atom number"),
    ],
)
def test_broken_pdbqt_ligands_are_refused(benzamide, make, message: str):
    with pytest.raises(InputError, match=message) as caught:
        ligand_from_file(make(benzamide.pdbqt), "pdbqt")
    assert caught.value.field == "ligand"


@pytest.mark.parametrize("fmt", LIGAND_FORMATS)
@pytest.mark.parametrize("text", ["", "\n\n", "hello, I am not a molecule\n"])
def test_empty_or_non_molecule_files_are_refused(fmt: str, text: str):
    with pytest.raises(InputError) as caught:
        ligand_from_file(text, fmt, field="ligand_file")
    assert caught.value.field == "ligand_file"


@pytest.mark.parametrize("fmt", ["xyz", "cif", "", "smi"])
def test_unknown_format_is_unsupported(fmt: str):
    with pytest.raises(UnsupportedFileError) as caught:
        ligand_from_file("CCO\n", fmt)
    assert caught.value.field == "ligand"


def test_chemically_invalid_sdf_names_the_problem():
    lines = Chem.MolToMolBlock(Chem.MolFromSmiles("C(C)(C)(C)C")).splitlines()
    bond = next(i for i, line in enumerate(lines) if line.startswith("  1  2  1"))
    lines[bond] = lines[bond].replace("  1  2  1", "  1  2  2")  # a five-valent carbon
    with pytest.raises(InputError, match="valence") as caught:
        ligand_from_file("\n".join(lines) + "\n", "mol")
    assert caught.value.field == "ligand"


# --- charge states, stereo, more formats (preparation issue) ---


@pytest.mark.parametrize(
    ("smiles", "ph", "expected"),
    [
        ("CC(=O)Oc1ccccc1C(=O)O", 7.4, "CC(=O)Oc1ccccc1C(=O)[O-]"),  # aspirin: carboxylate
        ("CC(=O)Oc1ccccc1C(=O)O", 2.0, "CC(=O)Oc1ccccc1C(=O)O"),  # acid at pH 2
        ("NCCCC", 7.4, "CCCC[NH3+]"),  # primary amine
        # imatinib: one charge on the piperazine's N-methyl nitrogen, not two
        (
            "Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1",
            7.4,
            "Cc1ccc(NC(=O)c2ccc(CN3CC[NH+](C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1",
        ),
        ("CC(=O)Oc1ccccc1C(=O)O", None, "CC(=O)Oc1ccccc1C(=O)O"),  # ph=None keeps
    ],
)
def test_charge_state_is_set_for_the_ph(smiles: str, ph: float | None, expected: str):
    ligand = ligand_from_smiles(smiles, ph=ph)
    assert ligand.smiles == canonical(expected)
    assert round_trip(ligand) == canonical(expected)
    changed = canonical(expected) != canonical(smiles)
    assert any("pH" in note for note in ligand.notes) == changed


def test_charge_state_of_a_3d_file_keeps_its_coordinates():
    neutral = Chem.AddHs(Chem.MolFromSmiles("CC(C)NCC(O)COc1ccccc1"))  # a beta-blocker amine
    AllChem.EmbedMolecule(neutral, randomSeed=3)
    ligand = ligand_from_file(Chem.MolToMolBlock(neutral), "sdf")
    assert (
        "[NH2+]" in ligand.smiles and Chem.GetFormalCharge(Chem.MolFromSmiles(ligand.smiles)) == 1
    )
    assert "net charge +1, was +0" in ligand.notes[0]
    heavy = np.array(
        [[a.x, a.y, a.z] for a in read_atoms(ligand.pdbqt, "ligand") if not a.is_hydrogen]
    )
    expected = Chem.RemoveHs(neutral).GetConformer().GetPositions().mean(axis=0)
    assert np.allclose(heavy.mean(axis=0), expected, atol=0.01)


def test_unspecified_stereo_is_flagged_by_default():
    ligand = ligand_from_smiles("CC(O)C(=O)Nc1ccccc1")
    assert ligand.isomers == []
    assert "1 stereocentre with unspecified configuration" in ligand.notes[-1]
    assert ligand.to_dict()["stereoisomers"] == []
    specified = ligand_from_smiles("C[C@H](O)C(=O)Nc1ccccc1")
    assert not any("stereo" in note for note in specified.notes)


def test_unspecified_stereo_can_be_enumerated():
    ligand = ligand_from_smiles("CC(F)C(Cl)C", stereo="enumerate", ph=None)
    isomers = [ligand, *ligand.isomers]
    assert len(isomers) == 4
    assert len({isomer.smiles for isomer in isomers}) == 4
    assert all("@" in isomer.smiles for isomer in isomers)
    assert all(round_trip(isomer) == canonical(isomer.smiles) for isomer in isomers)
    assert "enumerated 4 stereoisomers" in ligand.notes[-1]
    assert ligand.to_dict()["stereoisomers"] == [isomer.smiles for isomer in isomers]


def test_many_stereocentres_are_capped():
    ligand = ligand_from_smiles("CC(F)C(Cl)C(Br)C(O)C", stereo="enumerate", ph=None)
    assert 1 + len(ligand.isomers) == 8
    assert "the first 8 of 16" in ligand.notes[-1]


def test_multi_molecule_sdf_uses_the_first_and_says_how_many(example: dict[str, Path]):
    folder = TEST_DATA / "posebusters" / "1ia1"
    text = (folder / "1ia1_ligands.sdf").read_text()
    count = text.count("$$$$")
    ligand = ligand_from_file(text, "sdf")
    assert count > 1
    assert f"holds {count} molecules; the first was used" in ligand.notes[0]


def test_pdb_ligand_with_hydrogens_gets_its_bond_orders(example: dict[str, Path]):
    crystal = Chem.MolFromMolBlock(example["ligand"].read_text(), removeHs=False)
    pdb = Chem.MolToPDBBlock(Chem.AddHs(crystal, addCoords=True))
    ligand = ligand_from_file(pdb, "pdb")
    assert ligand.smiles == canonical(crystal)
    assert "Bond orders were perceived" in ligand.notes[0]


def test_pdb_ligand_without_hydrogens_or_conect_is_refused(example: dict[str, Path]):
    crystal = Chem.MolFromMolBlock(example["ligand"].read_text())
    atoms_only = "".join(
        line + "\n"
        for line in Chem.MolToPDBBlock(crystal).splitlines()
        if not line.startswith("CONECT")
    )
    with pytest.raises(InputError, match="neither hydrogens nor CONECT") as caught:
        ligand_from_file(atoms_only, "pdb")
    assert caught.value.field == "ligand"


def test_every_crystal_ligand_of_the_test_data_prepares():
    for path in sorted((TEST_DATA / "posebusters").glob("*/*_ligand.sdf")):
        ligand = ligand_from_file(path.read_text(), "sdf")
        assert ligand.num_heavy_atoms > 5, path
        assert "TORSDOF" in ligand.pdbqt
