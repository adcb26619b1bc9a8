"""Per-pose evidence on real complexes: RMSD to the crystal ligand and PoseBusters' checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Geometry import Point3D

from dockyard.chem import (
    DockingOptions,
    InputFile,
    box_around_ligand,
    dock,
    ligand_from_file,
    ligand_from_smiles,
    prepare_receptor,
)
from dockyard.chem.evidence import (
    annotate_sdf,
    pose_evidence,
    read_reference,
    read_sdf_poses,
    reference_smiles,
)
from dockyard.chem.plausibility import check_poses, read_receptor
from dockyard.chem.rmsd import COMMON_SUBSTRUCTURE, SAME_MOLECULE, rmsd_to_reference
from tests.conftest import EXAMPLE, TEST_DATA

POSEBUSTERS = TEST_DATA / "posebusters"
CRYSTAL_LIGANDS = [*sorted(POSEBUSTERS.glob("*/*_ligand.sdf")), EXAMPLE / "1iep_ligand.sdf"]


def _crystal(path: Path) -> Chem.Mol:
    return Chem.MolFromMolFile(str(path), removeHs=False)


def _moved(mol: Chem.Mol, shift: tuple[float, float, float]) -> Chem.Mol:
    moved = Chem.Mol(mol)
    conformer = moved.GetConformer()
    for index in range(moved.GetNumAtoms()):
        conformer.SetAtomPosition(index, conformer.GetAtomPosition(index) + Point3D(*shift))
    return moved


@pytest.mark.parametrize("path", CRYSTAL_LIGANDS, ids=lambda path: path.parent.name)
def test_a_crystal_pose_against_itself_is_0_and_a_shift_is_its_length(path: Path):
    crystal = _crystal(path)
    same, shifted = rmsd_to_reference([crystal, _moved(crystal, (0.6, 0.0, 0.8))], crystal)
    assert same.kind == SAME_MOLECULE and same.rmsd == pytest.approx(0.0, abs=1e-6)
    assert same.mcs_atoms == crystal.GetNumHeavyAtoms() == same.reference_atoms
    assert shifted.rmsd == pytest.approx(1.0, abs=1e-6)  # no superposition undoes the shift


def test_another_protonation_of_the_same_molecule_is_the_same_molecule():
    """Imatinib's crystal SDF has its piperazine protonated; the neutral form compares at 0."""
    crystal = _crystal(EXAMPLE / "1iep_ligand.sdf")
    neutral = Chem.RWMol(crystal)
    charged = next(atom for atom in neutral.GetAtoms() if atom.GetFormalCharge() == 1)
    proton = next(n for n in charged.GetNeighbors() if n.GetAtomicNum() == 1)
    charged.SetFormalCharge(0)
    neutral.RemoveAtom(proton.GetIdx())
    Chem.SanitizeMol(neutral)
    assert Chem.GetFormalCharge(neutral) == 0 != Chem.GetFormalCharge(crystal)
    (result,) = rmsd_to_reference([neutral.GetMol()], crystal)
    assert result.kind == SAME_MOLECULE and result.rmsd == pytest.approx(0.0, abs=1e-6)
    (heavy_only,) = rmsd_to_reference([Chem.RemoveHs(crystal)], neutral.GetMol())
    assert heavy_only.kind == SAME_MOLECULE and heavy_only.rmsd == pytest.approx(0.0, abs=1e-6)


def test_symmetric_atoms_swapped_still_give_0():
    """Tyrosine (1OF6): its carboxylate oxygens and the ring's ortho/meta carbons are equivalent."""
    crystal = Chem.RemoveHs(_crystal(POSEBUSTERS / "1of6" / "1of6_ligand.sdf"))
    carboxyl = list(crystal.GetSubstructMatch(Chem.MolFromSmarts("OC=O")))[::2]
    assert len(carboxyl) == 2
    swapped = Chem.Mol(crystal)
    conformer = swapped.GetConformer()
    first, second = (conformer.GetAtomPosition(i) for i in carboxyl)
    conformer.SetAtomPosition(carboxyl[0], second)
    conformer.SetAtomPosition(carboxyl[1], first)
    naive = np.sqrt(
        ((swapped.GetConformer().GetPositions() - crystal.GetConformer().GetPositions()) ** 2)
        .sum(axis=1)
        .mean()
    )
    assert naive > 0.3
    (result,) = rmsd_to_reference([swapped], crystal)
    assert result.rmsd == pytest.approx(0.0, abs=1e-6)


def test_another_molecule_is_compared_over_the_common_substructure():
    """Imatinib without its methylpiperazine, in the crystal's place: 0 Å over 29 atoms."""
    crystal = Chem.RemoveHs(_crystal(EXAMPLE / "1iep_ligand.sdf"))
    piperazine = Chem.MolFromSmarts("[CH2]N1CCN(C)CC1")
    cut = Chem.RWMol(crystal)
    for index in sorted(crystal.GetSubstructMatch(piperazine), reverse=True):
        cut.RemoveAtom(index)
    analogue = cut.GetMol()
    analogue.UpdatePropertyCache(strict=False)
    (result,) = rmsd_to_reference([analogue], crystal)
    assert result.kind == COMMON_SUBSTRUCTURE
    assert result.mcs_atoms == analogue.GetNumAtoms() == crystal.GetNumAtoms() - 8
    assert result.rmsd == pytest.approx(0.0, abs=1e-6)
    assert result.to_dict() == {
        "rmsd_to_reference": 0.0,
        "rmsd_kind": "common substructure",
        "mcs_atoms": 29,
    }


def test_nothing_in_common_gives_no_rmsd():
    crystal = _crystal(EXAMPLE / "1iep_ligand.sdf")
    chloride = Chem.AddHs(Chem.MolFromSmiles("ClCl"))
    chloride.AddConformer(Chem.Conformer(chloride.GetNumAtoms()))
    (result,) = rmsd_to_reference([chloride], crystal)
    assert result.kind == COMMON_SUBSTRUCTURE and result.rmsd is None and result.mcs_atoms == 0


@pytest.mark.parametrize("fmt", ["sdf", "pdb", "mol2", "pdbqt"])
def test_a_reference_reads_from_every_format(fmt: str):
    crystal = _crystal(EXAMPLE / "1iep_ligand.sdf")
    text = {
        "sdf": lambda: Chem.MolToMolBlock(crystal),
        "pdb": lambda: Chem.MolToPDBBlock(crystal),
        "mol2": lambda: (
            POSEBUSTERS.parent.parent / "chem" / "data" / "benzamide.mol2"
        ).read_text(),
        "pdbqt": lambda: ligand_from_file(Chem.MolToMolBlock(crystal), "sdf", ph=None).pdbqt,
    }[fmt]()
    reference = read_reference(InputFile(text, fmt))
    if fmt != "mol2":
        (result,) = rmsd_to_reference([crystal], reference)
        assert result.kind == SAME_MOLECULE and result.rmsd == pytest.approx(0.0, abs=1e-3)
    assert reference.GetNumConformers() == 1


@pytest.fixture(scope="module")
def receptor_1iep_mol() -> Chem.Mol:
    return read_receptor((EXAMPLE / "1iep_receptorH.pdb").read_text())


def test_the_crystal_pose_is_plausible_and_broken_poses_fail_named_checks(receptor_1iep_mol):
    crystal = _crystal(EXAMPLE / "1iep_ligand.sdf")
    stretched = Chem.Mol(crystal)
    conformer = stretched.GetConformer()
    conformer.SetAtomPosition(0, conformer.GetAtomPosition(0) + Point3D(1.5, 0.0, 0.0))
    far = _moved(crystal, (40.0, 0.0, 0.0))
    into_protein = _moved(crystal, (4.0, 0.0, 0.0))
    good, broken, away, clash = check_poses(
        [crystal, stretched, far, into_protein], receptor_1iep_mol
    )
    assert good.valid and good.failed == ()
    assert not broken.valid and "bond_lengths" in broken.failed
    assert "protein-ligand_maximum_distance" in away.failed
    assert {"minimum_distance_to_protein", "volume_overlap_with_protein"} & set(clash.failed)
    assert good.to_dict() == {"valid": True, "failed": []}
    # Jobs check against the receptor atoms near the poses only: the same verdicts.
    evidence = pose_evidence(
        [crystal, stretched, far, into_protein],
        receptor_pdb=(EXAMPLE / "1iep_receptorH.pdb").read_text(),
    )
    assert [fields["plausibility"]["failed"] for fields in evidence.poses] == [
        list(check.failed) for check in (good, broken, away, clash)
    ]


def test_a_redocked_crystal_ligand_gets_a_finite_rmsd_and_plausibility():
    """1OF6 from its raw file and the ligand's SMILES only (zwitterion at pH 7.4, re-embedded),
    compared with the neutral crystal tyrosine."""
    folder = POSEBUSTERS / "1of6"
    crystal_text = (folder / "1of6_ligand.sdf").read_text()
    box = box_around_ligand(crystal_text, "sdf", padding=4)
    receptor = prepare_receptor(
        (folder / "1of6_protein_one_lig_removed.pdb").read_text(), "pdb", box=box
    )
    smiles = Chem.MolToSmiles(_crystal(folder / "1of6_ligand.sdf"))
    ligand = ligand_from_smiles(smiles)
    assert "+" in ligand.smiles and "-" in ligand.smiles  # protonated, unlike the crystal
    result = dock(receptor, ligand, box, DockingOptions(exhaustiveness=1, num_poses=3, seed=1))
    poses = read_sdf_poses(result.poses_sdf)
    evidence = pose_evidence(
        poses, reference=InputFile(crystal_text, "sdf"), receptor_pdb=receptor.pdb
    )
    assert evidence.warnings == []
    assert len(evidence.poses) == len(result.poses)
    for fields in evidence.poses:
        assert fields["rmsd_kind"] == SAME_MOLECULE and fields["mcs_atoms"] == 13
        assert 0 <= fields["rmsd_to_reference"] < 15
        assert isinstance(fields["plausibility"]["valid"], bool)
    annotated = annotate_sdf(result.poses_sdf, evidence)
    records = read_sdf_poses(annotated)
    assert len(records) == len(poses)
    assert float(records[0].GetProp("rmsd_to_reference")) == pytest.approx(
        evidence.poses[0]["rmsd_to_reference"], abs=1e-3
    )
    assert records[0].GetProp("rmsd_kind") == SAME_MOLECULE
    assert records[0].GetProp("plausible") in ("0", "1")


def test_an_unreadable_reference_or_receptor_leaves_a_warning_not_an_error():
    crystal = _crystal(EXAMPLE / "1iep_ligand.sdf")
    evidence = pose_evidence(
        [crystal], reference=InputFile("not a molecule", "sdf"), receptor_pdb="nonsense"
    )
    assert evidence.poses == [{}]
    assert len(evidence.warnings) == 2
    assert "reference" in evidence.warnings[0] and "plausibility" in evidence.warnings[1]


@pytest.mark.parametrize("fmt", ["sdf", "pdb", "pdbqt"])
def test_the_reference_chemistry_is_read_from_every_format(fmt: str):
    """What a validation redocks: the reference's SMILES, stereo from its 3D coordinates."""
    crystal = _crystal(POSEBUSTERS / "1of6" / "1of6_ligand.sdf")
    text = {
        "sdf": lambda: Chem.MolToMolBlock(crystal),
        "pdb": lambda: Chem.MolToPDBBlock(Chem.AddHs(crystal, addCoords=True)),
        "pdbqt": lambda: ligand_from_file(Chem.MolToMolBlock(crystal), "sdf", ph=None).pdbqt,
    }[fmt]()
    smiles = reference_smiles(InputFile(text, fmt))
    assert Chem.CanonSmiles(smiles) == Chem.CanonSmiles("N[C@@H](Cc1ccc(O)cc1)C(=O)O")
