"""The ``dockyard`` command, run for real: a local docking and a server's jobs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dockyard.chem import AutoEffort
from dockyard.cli import app
from dockyard.cli.dock import dock_in_child
from dockyard.config import Settings
from dockyard.errors import InputError
from tests.conftest import EXAMPLE, LiveServer

runner = CliRunner()
IMATINIB = "Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1"
BOX = ["--center", "15.19", "53.90", "16.92", "--size", "14", "14", "14"]


@pytest.fixture
def receptor_file(tmp_path: Path, receptor_pdbqt: bytes) -> Path:
    path = tmp_path / "1iep.pdbqt"
    path.write_bytes(receptor_pdbqt)
    return path


def test_dock_prints_scores_and_writes_poses(tmp_path, receptor_file):
    out = tmp_path / "poses.sdf"
    result = runner.invoke(
        app,
        ["dock", "--receptor", str(receptor_file), "--smiles", "NC(=O)c1ccccc1", *BOX,
         "--exhaustiveness", "1", "--num-poses", "3", "--seed", "3", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "affinity (kcal/mol)" in result.output
    assert "seed 3" in result.output
    assert 1 <= out.read_text().count("$$$$") <= 3


def test_dock_with_auto_effort_says_how_long_it_searched(receptor_file):
    result = runner.invoke(
        app,
        ["dock", "--receptor", str(receptor_file), "--smiles", "NC(=O)c1ccccc1", *BOX,
         "--effort", "auto", "--num-poses", "3", "--seed", "3"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rounds = re.search(r"Search: auto: (\d+) rounds, (\d+) chains", result.output)
    assert rounds, result.output
    chains = AutoEffort().round_exhaustiveness
    assert int(rounds[1]) >= 2 and int(rounds[2]) == chains * int(rounds[1])


def test_dock_runs_vina_in_a_child_so_the_progress_bar_moves(receptor_pdbqt):
    """Vina holds the GIL of its process: the CLI docks in a child and reads Vina's own bar."""
    from dockyard.chem import Box, DockingOptions, PreparedReceptor, ligand_from_smiles
    from dockyard.chem.core.progress import DOCKING_PROGRESS

    receptor = PreparedReceptor(receptor_pdbqt.decode())
    box = Box(center=(15.19, 53.90, 16.92), size=(20, 20, 20))
    ligand = ligand_from_smiles(IMATINIB)
    stages: list[tuple[str, float]] = []
    result = dock_in_child(
        receptor, ligand, box, DockingOptions(exhaustiveness=2, seed=1, num_poses=3),
        lambda stage, fraction: stages.append((stage, fraction)),
    )  # fmt: skip
    assert result.best_score < -8, result.best_score
    docking = [fraction for stage, fraction in stages if stage == "docking"]
    assert docking == sorted(docking), stages
    inside = {f for f in docking if DOCKING_PROGRESS[0] < f < DOCKING_PROGRESS[1]}
    assert len(inside) >= 3, stages


def test_dock_in_a_child_passes_its_errors_on(receptor_pdbqt):
    from dockyard.chem import Box, DockingOptions, PreparedReceptor, ligand_from_smiles

    far = Box(center=(100, 100, 100), size=(10, 10, 10))
    with pytest.raises(InputError, match="does not touch the protein") as caught:
        dock_in_child(PreparedReceptor(receptor_pdbqt.decode()), ligand_from_smiles("CCO"), far,
                      DockingOptions(exhaustiveness=1), lambda stage, fraction: None)  # fmt: skip
    assert caught.value.field == "center_x"


def test_dock_with_autobox_from_reference_ligand(receptor_file):
    result = runner.invoke(
        app,
        ["dock", "--receptor", str(receptor_file), "--ligand", str(EXAMPLE / "1iep_ligand.sdf"),
         "--autobox-ligand", str(EXAMPLE / "1iep_ligand.sdf"), "--padding", "2",
         "--exhaustiveness", "1", "--num-poses", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    scores = [float(value) for value in re.findall(r"(-\d+\.\d\d) ", result.output)]
    assert scores and scores[0] < -6  # imatinib in its own pocket, even at low effort


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--smiles", "C1CC(", *BOX], "SMILES"),
        (["--smiles", "CCO", "--center", "0", "0", "0", "--size", "0", "10", "10"], "size_x"),
        (["--smiles", "CCO"], "give a box"),
        (["--smiles", "CCO", "--ligand", "x.sdf", *BOX], "exactly one"),
        (["--smiles", "CCO", *BOX, "--scoring", "ad5"], "scoring"),
        (["--smiles", "CCO", *BOX, "--exhaustiveness", "0"], "exhaustiveness"),
        (["--smiles", "CCO", *BOX, "--effort", "max"], "effort"),
    ],
)
def test_dock_refuses_bad_input_with_a_message(receptor_file, arguments, message):
    result = runner.invoke(app, ["dock", "--receptor", str(receptor_file), *arguments])
    assert result.exit_code == 2
    assert message in result.output


def test_dock_names_a_missing_receptor_file(tmp_path):
    result = runner.invoke(
        app, ["dock", "--receptor", str(tmp_path / "no.pdb"), "--smiles", "C", *BOX]
    )
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_jobs_and_status_talk_to_a_server(tmp_path, small_job):
    with LiveServer(Settings(data_dir=tmp_path, workers=1)) as live:
        fields, files = small_job(name="clitest")
        job_id = live.submit(files, **fields).json()["job_id"]
        live.wait(job_id)
        listing = runner.invoke(app, ["jobs", "--server", live.url])
        assert listing.exit_code == 0, listing.output
        assert "clitest" in listing.output and "completed" in listing.output
        status = runner.invoke(app, ["status", str(job_id), "--server", live.url])
        assert status.exit_code == 0, status.output
        assert "poses.sdf" in status.output
        missing = runner.invoke(app, ["status", "999", "--server", live.url])
        assert missing.exit_code == 2 and "no job 999" in missing.output


def test_status_follow_waits_for_the_end_and_says_how_it_went(tmp_path, small_job):
    with LiveServer(Settings(data_dir=tmp_path, workers=1)) as live:
        fields, files = small_job(name="followed")
        job_id = live.submit(files, **fields).json()["job_id"]
        followed = runner.invoke(app, ["status", str(job_id), "--follow", "--server", live.url])
        assert followed.exit_code == 0, followed.output
        assert "completed" in followed.output and "poses.sdf" in followed.output

        # Long enough (imatinib at exhaustiveness 8) to be cancelled before it ends.
        fields, files = small_job(name="cancelled", smiles=IMATINIB, exhaustiveness="8")
        job_id = live.submit(files, **fields).json()["job_id"]
        assert live.client.post(f"/api/jobs/{job_id}/cancel").status_code == 200
        cancelled = runner.invoke(app, ["status", str(job_id), "-f", "--server", live.url])
        assert cancelled.exit_code == 1, cancelled.output
        assert "cancelled" in cancelled.output


def test_jobs_explains_an_unreachable_server():
    result = runner.invoke(app, ["jobs", "--server", "http://127.0.0.1:9"])
    assert result.exit_code == 2
    assert "dockyard serve" in result.output
