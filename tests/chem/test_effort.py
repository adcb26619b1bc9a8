"""Adaptive search effort: rounds of real Vina chains, each with its own seed, pooled until the
best pose repeats; fixed exhaustiveness untouched."""

from __future__ import annotations

import dataclasses

import pytest
from rdkit import Chem

from dockyard.chem import (
    AutoEffort,
    Box,
    DockingOptions,
    DockingResult,
    DockingSession,
    PreparedReceptor,
    dock,
    ligand_from_smiles,
    search_threads,
)
from dockyard.chem.adaptive import round_seeds
from dockyard.chem.core.options import MAX_SEED
from dockyard.chem.core.progress import (
    DOCKING_PROGRESS,
    ROUND_LINE,
    START_LINE,
    docking_progress,
)
from dockyard.errors import InputError

from .conftest import BENZAMIDE, FAST, POCKET

AUTO = dataclasses.replace(FAST, effort="auto", ring_conformers=1)
QUICK = AutoEffort(round_exhaustiveness=2, max_rounds=6)
FLOPPY = "OCCCCCCCCCCN"
"""Eleven rotatable bonds: its best pose is not found twice in a few chains in a large box."""
LARGE = Box(center=(15.19, 53.90, 16.92), size=(24.0, 24.0, 24.0))


def auto_dock(receptor: PreparedReceptor, smiles: str, box: Box, effort: AutoEffort, seed: int):
    session = DockingSession(receptor, box, seed=seed, cpu=2, auto=effort)
    return session.dock(ligand_from_smiles(smiles, name="ligand"), AUTO.with_seed(seed))


@pytest.fixture(scope="module")
def easy(receptor_1iep: PreparedReceptor) -> DockingResult:
    return auto_dock(receptor_1iep, BENZAMIDE, POCKET, QUICK, 42)


def test_an_easy_ligand_converges_before_the_ceiling(easy: DockingResult):
    effort = easy.effort
    assert effort.mode == "auto" and effort.converged is True
    assert 2 <= effort.rounds < QUICK.max_rounds
    assert effort.exhaustiveness == effort.rounds * QUICK.round_exhaustiveness
    assert easy.to_dict()["search"] == {
        "effort": "auto",
        "rounds": effort.rounds,
        "exhaustiveness_used": effort.exhaustiveness,
        "converged": True,
        "ceiling": QUICK.ceiling,
    }


def test_pooled_poses_are_valid_distinct_and_sorted_as_vina_writes_them(easy: DockingResult):
    poses = easy.poses
    assert 1 <= len(poses) <= AUTO.num_poses
    assert [pose.rank for pose in poses] == list(range(1, len(poses) + 1))
    energies = [pose.affinity for pose in poses]
    assert energies == sorted(energies) and energies[0] < -4.0
    assert energies[-1] - energies[0] <= AUTO.energy_range
    assert poses[0].rmsd_lb == poses[0].rmsd_ub == 0
    assert all(pose.rmsd_lb <= pose.rmsd_ub for pose in poses)
    assert all(pose.rmsd_ub >= QUICK.cluster_rmsd for pose in poses[1:])
    assert easy.poses_pdbqt.count("MODEL") == len(poses)
    supplier = Chem.SDMolSupplier()
    supplier.SetData(easy.poses_sdf, removeHs=False)
    mols = list(supplier)
    assert len(mols) == len(poses)
    for mol, pose in zip(mols, poses, strict=True):
        assert Chem.MolToSmiles(Chem.RemoveHs(mol)) == Chem.CanonSmiles(BENZAMIDE)
        assert float(mol.GetProp("vina_affinity")) == pytest.approx(pose.affinity, abs=1e-3)
        for value, centre, size in zip(
            mol.GetConformer().GetPositions().T, POCKET.center, POCKET.size, strict=True
        ):
            assert (abs(value - centre) <= size / 2 + 2.0).all()


def test_a_hard_ligand_runs_to_the_ceiling(receptor_1iep: PreparedReceptor):
    strict = AutoEffort(round_exhaustiveness=1, max_rounds=3, rmsd=0.5, energy=0.0)
    result = auto_dock(receptor_1iep, FLOPPY, LARGE, strict, 7)
    assert result.effort.converged is False
    assert result.effort.rounds == strict.max_rounds
    assert result.effort.exhaustiveness == strict.ceiling == 3
    assert [pose.affinity for pose in result.poses] == sorted(p.affinity for p in result.poses)


def test_a_seed_gives_the_same_rounds_and_poses(receptor_1iep, easy: DockingResult):
    again = auto_dock(receptor_1iep, BENZAMIDE, POCKET, QUICK, 42)
    assert again.poses_pdbqt == easy.poses_pdbqt
    assert again.effort == easy.effort
    assert round_seeds(42, 5) == round_seeds(42, 5)
    seeds = round_seeds(42, 8)
    assert seeds[0] == 42 and len(set(seeds)) == 8
    assert all(1 <= seed <= MAX_SEED for seed in seeds)


def test_later_rounds_search_with_new_chains(receptor_1iep: PreparedReceptor):
    """Two rounds on one seed would find the same poses twice; the pool holds both rounds'."""
    one = AutoEffort(round_exhaustiveness=1, max_rounds=1)
    two = AutoEffort(round_exhaustiveness=1, max_rounds=2, energy=0.0)
    first = auto_dock(receptor_1iep, FLOPPY, POCKET, one, 11)
    both = auto_dock(receptor_1iep, FLOPPY, POCKET, two, 11)
    assert both.effort.rounds == 2
    assert both.best_score <= first.best_score
    assert both.poses_pdbqt != first.poses_pdbqt


def test_every_starting_ring_conformation_is_searched_adaptively(receptor_1iep):
    ring = ligand_from_smiles("NC(=O)C1CCCCC1", name="ring")
    session = DockingSession(receptor_1iep, POCKET, seed=5, cpu=2, auto=QUICK)
    result = session.dock(ring, dataclasses.replace(AUTO, ring_conformers=3, seed=5))
    assert result.ring_conformers > 1
    assert result.effort.rounds >= 2 * result.ring_conformers
    assert result.effort.exhaustiveness == result.effort.rounds * QUICK.round_exhaustiveness
    assert result.effort.converged in (True, False)


def test_fixed_exhaustiveness_is_the_default_and_unchanged(receptor_1iep, docked: DockingResult):
    assert DockingOptions().effort == "fixed"
    again = dock(receptor_1iep, ligand_from_smiles(BENZAMIDE, name="benzamide"), POCKET, FAST)
    assert again.poses_pdbqt == docked.poses_pdbqt
    assert docked.to_dict()["search"] == {
        "effort": "fixed",
        "rounds": 1,
        "exhaustiveness_used": FAST.exhaustiveness,
    }
    assert search_threads(DockingOptions(exhaustiveness=1), 8) == 1
    assert search_threads(DockingOptions(effort="auto"), 8) == AutoEffort().round_exhaustiveness


@pytest.mark.parametrize("bad", ["max", "", "AUTO!", 3, None])
def test_effort_is_a_checked_option(bad):
    assert DockingOptions(effort=" Auto ").effort == "auto"
    assert DockingOptions.from_fields({"effort": "auto"}).effort == "auto"
    if bad in ("", None):
        assert DockingOptions.from_fields({"effort": bad}).effort == "fixed"
        return
    with pytest.raises(InputError) as caught:
        DockingOptions.from_fields({"effort": bad})
    assert caught.value.field == "effort"


def test_progress_advances_round_by_round():
    start, end = DOCKING_PROGRESS
    bar = "0%   10   20   30   40   50   60   70   80   90   100%\n|----|----|\n"
    round_two = f"\n{ROUND_LINE.format(number=2, total=4)}\n{bar}" + "*" * 51
    assert docking_progress(f"\n{ROUND_LINE.format(number=1, total=4)}\n") is None
    assert docking_progress(round_two) == pytest.approx(start + (end - start) * 2 / 4)
    half = f"\n{ROUND_LINE.format(number=3, total=4)}\n"
    assert docking_progress(round_two + half) == pytest.approx(start + (end - start) * 2 / 4)
    second_start = f"\n{START_LINE.format(number=2, total=2)}\n" + half
    assert docking_progress(round_two + second_start) == pytest.approx(
        start + (end - start) * (1 + 2 / 4) / 2
    )
