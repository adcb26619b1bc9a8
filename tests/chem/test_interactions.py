"""Protein-ligand interactions from ProLIF, checked against what is known of imatinib in 1IEP.

The crystal pose of imatinib in Abl kinase makes hydrogen bonds to the hinge (Met318), the
gatekeeper (Thr315), Glu286 of the C-helix and the DFG motif's Asp381, and stacks against
Tyr253 of the P-loop or Phe382 (Nagar et al., Cancer Res. 2002).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from rdkit import Chem

from dockyard.chem import DockingResult, PreparedReceptor
from dockyard.chem.interactions import (
    INTERACTION_KINDS,
    METAL_DISTANCE,
    _site,
    pose_interactions,
    protein_molecule,
    read_receptor_atoms,
)
from dockyard.errors import InputError


@pytest.fixture(scope="module")
def crystal_sdf(example: dict[str, Path]) -> str:
    return example["ligand"].read_text()


@pytest.fixture(scope="module")
def crystal(receptor_1iep: PreparedReceptor, crystal_sdf: str):
    return pose_interactions(receptor_1iep.pdbqt, "pdbqt", crystal_sdf)[0]


def by_kind(pose, kind: str) -> set[str]:
    return {found.residue for found in pose.interactions if found.kind == kind}


def test_imatinib_makes_its_known_hydrogen_bonds(crystal):
    assert {"A:MET:318", "A:THR:315", "A:GLU:286", "A:ASP:381"} <= by_kind(crystal, "hydrogen_bond")


def test_imatinib_stacks_on_an_aromatic_residue_of_the_pocket(crystal):
    assert by_kind(crystal, "pi_stacking") & {"A:TYR:253", "A:PHE:382"}
    assert by_kind(crystal, "hydrophobic")


def test_interactions_have_chemical_distances_and_points(crystal):
    limits = {"hydrogen_bond": 4.1, "hydrophobic": 4.0, "pi_stacking": 5.5, "salt_bridge": 5.5}
    for found in crystal.interactions:
        assert found.kind in INTERACTION_KINDS
        assert 0 < found.distance <= limits.get(found.kind, 6.0), found
        gap = sum(
            (a - b) ** 2 for a, b in zip(found.ligand_point, found.protein_point, strict=True)
        )
        assert gap**0.5 == pytest.approx(found.distance, abs=0.02), found
    counts = crystal.counts()
    assert sum(counts.values()) == len(crystal.interactions)


def test_contact_residues_line_the_pocket(crystal):
    assert {"A:MET:318", "A:THR:315", "A:ASP:381", "A:GLU:286"} <= set(crystal.residues)
    assert all(label.startswith("A:") for label in crystal.residues)


def test_a_metal_ion_next_to_a_ligand_nitrogen_is_a_metal_contact(
    receptor_1iep: PreparedReceptor, crystal_sdf: str
):
    mol = Chem.MolFromMolBlock(crystal_sdf, removeHs=False)
    nitrogen = next(atom for atom in mol.GetAtoms() if atom.GetSymbol() == "N")
    x, y, z = mol.GetConformer().GetAtomPosition(nitrogen.GetIdx())
    zinc = (
        f"HETATM 9999 ZN    ZN A 900    {x:8.3f}{y:8.3f}{z + 2.1:8.3f}  1.00  0.00    +2.000 Zn\n"
    )
    pose = pose_interactions(receptor_1iep.pdbqt + zinc, "pdbqt", crystal_sdf)[0]
    metals = [found for found in pose.interactions if found.kind == "metal"]
    assert metals
    assert metals[0].residue == "A:ZN:900"
    assert metals[0].distance == pytest.approx(2.1, abs=0.01)
    assert all(found.distance <= METAL_DISTANCE for found in metals)


def test_each_docked_pose_is_profiled(receptor_1iep: PreparedReceptor, docked: DockingResult):
    poses = pose_interactions(receptor_1iep.pdbqt, "pdbqt", docked.poses_sdf)
    assert [pose.rank for pose in poses] == list(range(1, len(docked.poses) + 1))
    assert all(pose.residues for pose in poses)
    assert any(pose.interactions for pose in poses)
    only_second = pose_interactions(receptor_1iep.pdbqt, "pdbqt", docked.poses_sdf, [2])
    assert [pose.rank for pose in only_second] == [2]
    assert only_second[0].to_dict() == poses[1].to_dict()


def test_a_pose_that_is_not_there_is_named(receptor_1iep: PreparedReceptor, crystal_sdf: str):
    with pytest.raises(InputError, match="no pose 3") as caught:
        pose_interactions(receptor_1iep.pdbqt, "pdbqt", crystal_sdf, [3])
    assert caught.value.field == "rank"


def test_waters_and_other_hetero_groups_are_not_receptor_atoms(example: dict[str, Path]):
    pdb = example["receptor"].read_text()
    extra = (
        "HETATM 9001  O   HOH A 901      10.000  10.000  10.000  1.00  0.00           O\n"
        "HETATM 9002  C1  GOL A 902      11.000  10.000  10.000  1.00  0.00           C\n"
        "HETATM 9003 ZN    ZN A 903      12.000  10.000  10.000  1.00  0.00          ZN\n"
    )
    atoms = read_receptor_atoms(pdb + extra, "pdb")
    names = {atom.resname for atom in atoms}
    assert "HOH" not in names
    assert "GOL" not in names
    assert "ZN" in names


def test_interactions_run_in_a_process_that_loaded_vina(
    receptor_1iep: PreparedReceptor, crystal_sdf: str
):
    import vina  # noqa: F401  (as in every worker)

    pose = pose_interactions(receptor_1iep.pdbqt, "pdbqt", crystal_sdf)[0]
    assert {"A:MET:318", "A:THR:315"} <= by_kind(pose, "hydrogen_bond")
    assert "openbabel" not in sys.modules


def test_poses_that_are_not_molecules_are_named(receptor_1iep: PreparedReceptor):
    with pytest.raises(InputError) as caught:
        pose_interactions(receptor_1iep.pdbqt, "pdbqt", "not a molecule")
    assert caught.value.field == "poses"


def test_histidines_take_the_template_of_the_hydrogens_they_carry(
    receptor_1iep: PreparedReceptor, crystal_sdf: str
):
    """His361 without its HD1 is the neutral HIE: ND1 uncharged and bare, NE2 carries H."""
    lines = [
        line
        for line in receptor_1iep.pdbqt.splitlines()
        if not (line.startswith("ATOM") and line[12:16] == " HD1" and line[17:26] == "HIS A 361")
    ]
    atoms = read_receptor_atoms("\n".join(lines), "pdbqt")
    mol = Chem.MolFromMolBlock(crystal_sdf, removeHs=False)
    site = _site(atoms, mol.GetConformer().GetPositions(), 6.0)
    protein, labels = protein_molecule(site)
    number = labels.index("A:HIS:361") + 1
    his = next(residue for residue in protein if residue.resid.number == number)
    assert his.resid.name == "HIE"
    ring = {atom.GetMonomerInfo().GetName().strip(): atom for atom in his.GetAtoms()}
    assert ring["ND1"].GetFormalCharge() == 0 and ring["ND1"].GetTotalNumHs() == 0
    assert ring["NE2"].GetTotalNumHs(includeNeighbors=True) == 1
