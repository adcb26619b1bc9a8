from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from rdkit import Chem

from dockyard.chem import (
    Box,
    DockingOptions,
    DockingResult,
    DockingSession,
    dock,
    example_box,
    ligand_from_file,
    ligand_from_smiles,
    prepare_receptor,
)
from dockyard.chem.core.progress import bar_progress
from dockyard.errors import InputError

from .conftest import BENZAMIDE, FAST, POCKET


def heavy_smiles(mol: Chem.Mol) -> str:
    return Chem.MolToSmiles(Chem.RemoveHs(mol))


def scores(result: DockingResult) -> list[float]:
    return [pose.affinity for pose in result.poses]


def test_small_ligand_docks_into_the_pocket(docked: DockingResult):
    assert 1 <= len(docked.poses) <= FAST.num_poses
    assert [pose.rank for pose in docked.poses] == list(range(1, len(docked.poses) + 1))
    assert scores(docked) == sorted(scores(docked))
    assert docked.best_score == docked.poses[0].affinity < -4.0
    assert scores(docked)[-1] - docked.best_score <= FAST.energy_range
    first = docked.poses[0]
    assert first.rmsd_lb == 0 and first.rmsd_ub == 0
    assert all(pose.rmsd_lb <= pose.rmsd_ub for pose in docked.poses)
    assert first.inter < 0
    assert docked.poses_pdbqt.count("MODEL") == len(docked.poses)


def test_poses_stay_in_the_box(docked: DockingResult):
    supplier = Chem.SDMolSupplier()
    supplier.SetData(docked.poses_sdf, removeHs=False)
    for mol in supplier:
        for x, y, z in mol.GetConformer().GetPositions():
            for value, centre, size in zip((x, y, z), POCKET.center, POCKET.size, strict=True):
                assert abs(value - centre) <= size / 2 + 2.0


def test_sdf_has_one_record_per_pose_with_bond_orders_and_scores(docked: DockingResult):
    supplier = Chem.SDMolSupplier()
    supplier.SetData(docked.poses_sdf, removeHs=False)
    mols = list(supplier)
    assert len(mols) == len(docked.poses)
    for mol, pose in zip(mols, docked.poses, strict=True):
        assert heavy_smiles(mol) == Chem.CanonSmiles(BENZAMIDE)
        assert mol.GetNumAtoms() == 16  # hydrogens included, with coordinates
        assert mol.GetProp("_Name") == "benzamide"
        assert mol.GetIntProp("rank") == pose.rank
        assert float(mol.GetProp("vina_affinity")) == pytest.approx(pose.affinity, abs=1e-3)
        assert float(mol.GetProp("rmsd_lb")) == pytest.approx(pose.rmsd_lb, abs=1e-3)
        assert float(mol.GetProp("rmsd_ub")) == pytest.approx(pose.rmsd_ub, abs=1e-3)
        assert mol.GetProp("seed") == "42"
        assert mol.GetProp("scoring_function") == "vina"


def test_result_is_json_and_records_the_seed(docked: DockingResult):
    data = json.loads(json.dumps(docked.to_dict()))
    assert data["seed"] == 42 == docked.seed
    assert data["best_score"] == docked.best_score
    assert data["num_poses"] == len(data["poses"]) == len(docked.poses)
    assert set(data["poses"][0]) == {
        "rank",
        "affinity",
        "inter",
        "intra",
        "torsions",
        "rmsd_lb",
        "rmsd_ub",
    }


def test_same_seed_same_scores_and_drawn_seed_is_recorded(receptor_1iep, benzamide, docked):
    again = dock(receptor_1iep.pdbqt, benzamide.pdbqt, POCKET, FAST)
    assert scores(again) == scores(docked)
    quick = DockingOptions(exhaustiveness=1, num_poses=3)
    drawn = dock(receptor_1iep, benzamide, POCKET, quick)
    assert 1 <= drawn.seed < 2**31
    replay = dock(receptor_1iep, benzamide, POCKET, quick.with_seed(drawn.seed))
    assert replay.seed == drawn.seed
    assert scores(replay) == scores(drawn)


def test_docker_reuses_maps_and_matches_dock(receptor_1iep, benzamide, docked):
    stages: list[tuple[str, float]] = []
    docker = DockingSession(receptor_1iep.pdbqt, POCKET, scoring="vina", cpu=2, seed=42)
    phenol = docker.dock(ligand_from_smiles("Oc1ccccc1"), FAST, lambda *s: stages.append(s))
    assert [name for name, _ in stages] == ["computing maps", "docking", "writing poses", "done"]
    stages.clear()
    second = docker.dock(benzamide, DockingOptions(exhaustiveness=2, num_poses=5))
    assert "computing maps" not in [name for name, _ in stages]
    assert scores(second) == scores(docked)
    assert second.seed == phenol.seed == 42
    assert phenol.best_score < 0


def test_docker_refuses_options_for_another_scoring_function(receptor_1iep, benzamide):
    docker = DockingSession(receptor_1iep, POCKET, scoring="vinardo")
    with pytest.raises(InputError) as caught:
        docker.dock(benzamide, DockingOptions(scoring="vina"))
    assert caught.value.field == "scoring"


def test_vinardo_docks_too(receptor_1iep, benzamide):
    options = DockingOptions(scoring="vinardo", exhaustiveness=1, num_poses=3, seed=3)
    result = dock(receptor_1iep, benzamide, POCKET, options)
    assert result.scoring == "vinardo" and result.best_score < 0


def test_stage_progress_rises(receptor_1iep, benzamide):
    seen: list[float] = []
    dock(receptor_1iep, benzamide, POCKET, FAST, on_stage=lambda _, p: seen.append(p))
    assert seen == sorted(seen) and seen[0] > 0 and seen[-1] == 1.0


def test_pdbqt_ligand_without_smiles_exports_connectivity(receptor_1iep, benzamide):
    bare = "\n".join(line for line in benzamide.pdbqt.splitlines() if not line.startswith("REM"))
    result = dock(receptor_1iep, bare + "\n", POCKET, FAST)
    supplier = Chem.SDMolSupplier()
    supplier.SetData(result.poses_sdf, sanitize=False, removeHs=False)
    mols = list(supplier)
    assert len(mols) == len(result.poses)
    assert mols[0].GetNumBonds() >= 9
    assert any("without bond orders" in warning for warning in result.warnings)


def test_large_box_warning_reaches_the_result(receptor_1iep, benzamide):
    big = Box(center=POCKET.center, size=(32, 14, 14))
    result = dock(receptor_1iep, benzamide, big, DockingOptions(exhaustiveness=1, seed=1))
    assert any("size_x" in warning for warning in result.warnings)


def test_unprepared_receptor_text_is_checked_before_vina(benzamide):
    with pytest.raises(InputError) as caught:
        dock("ATOM  garbage\n", benzamide, POCKET, FAST)
    assert caught.value.field == "receptor"


@pytest.mark.slow
def test_imatinib_redocks_into_1iep_like_the_vina_tutorial(example: dict[str, Path]):
    """Vina's basic-docking tutorial: about -13.2 kcal/mol at exhaustiveness 8."""
    receptor = prepare_receptor(example["receptor"].read_text(), "pdb")
    ligand = ligand_from_file(example["ligand"].read_text(), "sdf")
    result = dock(receptor, ligand, example_box(), DockingOptions(exhaustiveness=8, seed=1))
    assert result.best_score == pytest.approx(-13.2, abs=0.4)
    crystal = Chem.MolFromMolBlock(example["ligand"].read_text())
    supplier = Chem.SDMolSupplier()
    supplier.SetData(result.poses_sdf)
    best = next(iter(supplier))
    assert heavy_smiles(best) == heavy_smiles(crystal)
    centre = best.GetConformer().GetPositions().mean(axis=0)
    assert math.dist(centre, crystal.GetConformer().GetPositions().mean(axis=0)) < 2.0


def test_box_far_from_the_receptor_is_refused(receptor_1iep):
    with pytest.raises(InputError, match="does not touch the protein") as caught:
        DockingSession(receptor_1iep, Box(center=(100, 100, 100), size=(10, 10, 10)))
    assert caught.value.field == "center_x"


def test_vina_draws_its_progress_bar_on_standard_output(tmp_path, receptor_1iep):
    """What the runners read while Vina holds the GIL: the bar, on file descriptor 1."""
    receptor = tmp_path / "receptor.pdbqt"
    receptor.write_text(receptor_1iep.pdbqt)
    script = (
        "from dockyard.chem import Box, DockingOptions, PreparedReceptor, dock\n"
        "from dockyard.chem import ligand_from_smiles\n"
        f"receptor = PreparedReceptor(open({str(receptor)!r}).read())\n"
        f"box = Box(center={POCKET.center}, size={POCKET.size})\n"
        f"dock(receptor, ligand_from_smiles({BENZAMIDE!r}), box, DockingOptions(exhaustiveness=1),"
        " progress_bar=True)\n"
    )
    quiet = subprocess.run([sys.executable, "-c", script.replace("True", "False")],
                           capture_output=True, text=True, check=True)  # fmt: skip
    assert quiet.stdout == ""
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert bar_progress(output) == 1.0, output
    first_star = output.index("*", output.rindex("|----"))
    assert bar_progress(output[: first_star + 5]) == pytest.approx(5 / 51)
    assert bar_progress("Computing Vina grid ... done.\n") is None
