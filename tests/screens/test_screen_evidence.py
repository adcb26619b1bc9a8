"""A screen with a reference ligand: its best ligands' top poses checked, the target validated."""

from __future__ import annotations

import csv
import io

import pytest
from typer.testing import CliRunner

from dockyard.cli import app
from tests.conftest import SMALL_BOX

LIBRARY = b"NC(=O)c1ccccc1 benzamide\nOc1ccccc1 phenol\nc1ccc2[nH]ccc2c1 indole\n"
FAST = {"exhaustiveness": "1", "num_poses": "2", "seed": "11"}


@pytest.fixture(scope="module")
def validated(shared_server, receptor_pdbqt, imatinib_sdf):
    """Three small ligands screened around imatinib's crystal pose, with ``validate=true``."""
    files = {
        "receptor": ("1iep.pdbqt", receptor_pdbqt),
        "library": ("library.smi", LIBRARY),
        "reference_ligand": ("1iep_ligand.sdf", imatinib_sdf),
    }
    data = {**FAST, "padding": "2", "validate": "true", "chunk_size": "2"}
    response = shared_server.client.post("/api/screens", data=data, files=files)
    assert response.status_code == 201, response.text
    screen_id = response.json()["job_id"]
    job = shared_server.wait(screen_id, timeout=300)
    assert job["status"] == "completed", job
    return screen_id, shared_server.client.get(f"/api/screens/{screen_id}").json()


def test_the_reference_ligand_is_redocked_before_the_library(shared_server, validated):
    screen_id, screen = validated
    validation = screen["validation"]
    assert validation["status"] == "completed", validation
    assert 0 <= validation["best_rmsd"] <= validation["top1_rmsd"] < 20
    assert 1 <= validation["best_rank"] <= 2 and validation["best_score"] < 0
    children = shared_server.client.get("/api/jobs", params={"parent": screen_id}).json()["jobs"]
    first = min(children, key=lambda job: job["id"])
    assert first["id"] == validation["job_id"]  # stored first: runners start it first
    redock = shared_server.client.get(f"/api/jobs/{validation['job_id']}").json()
    poses = redock["results"]["poses"]
    assert all(pose["rmsd_kind"] == "same molecule" for pose in poses)
    assert poses[0]["rmsd_to_reference"] == validation["top1_rmsd"]
    assert "N+" in redock["results"]["smiles"] or "NH+" in redock["results"]["smiles"]
    page = shared_server.client.get(f"/screens/{screen_id}").text
    assert "Validation: the reference ligand redocked" in page
    assert shared_server.client.get(f"/jobs/{validation['job_id']}").status_code == 200


def test_the_best_ligands_top_poses_carry_plausibility_and_rmsd(shared_server, validated):
    screen_id, _screen = validated
    url = f"/api/screens/{screen_id}/ligands"
    ligands = shared_server.client.get(url).json()["ligands"]
    assert len(ligands) == 3
    for row in ligands:
        assert row["status"] == "completed"
        assert isinstance(row["plausibility"]["valid"], bool)
        assert row["rmsd_kind"] == "common substructure" and row["mcs_atoms"] >= 3
        assert row["rmsd_to_reference"] >= 0
    plausible = shared_server.client.get(url, params={"plausible": "true"}).json()
    implausible = shared_server.client.get(url, params={"plausible": "false"}).json()
    assert plausible["total"] + implausible["total"] == 3
    assert all(row["plausibility"]["valid"] for row in plausible["ligands"])
    assert not any(row["plausibility"]["valid"] for row in implausible["ligands"])
    rows = list(csv.DictReader(io.StringIO(shared_server.client.get(
        f"/api/screens/{screen_id}/results.csv").text)))  # fmt: skip
    assert {row["plausible"] for row in rows} <= {"True", "False"}
    assert all(row["rmsd_kind"] == "common substructure" for row in rows)
    assert 'name="plausible"' in shared_server.client.get(f"/screens/{screen_id}").text


def test_validate_needs_a_reference_ligand(shared_server, receptor_pdbqt):
    files = {"receptor": ("1iep.pdbqt", receptor_pdbqt), "library": ("library.smi", LIBRARY)}
    data = {**SMALL_BOX, **FAST, "validate": "true"}
    response = shared_server.client.post("/api/screens", data=data, files=files)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "validate"


def test_a_screen_without_validate_has_no_validation(shared_server, receptor_pdbqt):
    files = {"receptor": ("1iep.pdbqt", receptor_pdbqt), "library": ("library.smi", LIBRARY[:24])}
    response = shared_server.client.post("/api/screens", data={**SMALL_BOX, **FAST}, files=files)
    screen_id = response.json()["job_id"]
    shared_server.wait(screen_id, timeout=120)
    screen = shared_server.client.get(f"/api/screens/{screen_id}").json()
    assert screen["validation"] is None
    (row,) = shared_server.client.get(f"/api/screens/{screen_id}/ligands").json()["ligands"]
    assert row["rmsd_to_reference"] is None and isinstance(row["plausibility"]["valid"], bool)


def test_cli_screen_validates_the_target(tmp_path, receptor_pdbqt, imatinib_sdf):
    receptor, reference = tmp_path / "1iep.pdbqt", tmp_path / "imatinib.sdf"
    receptor.write_bytes(receptor_pdbqt)
    reference.write_bytes(imatinib_sdf)
    library = tmp_path / "lib.smi"
    library.write_bytes(LIBRARY[:24])
    arguments = ["screen", "--receptor", str(receptor), "--library", str(library), "--validate",
                 "--exhaustiveness", "1", "--num-poses", "2", "--workers", "1"]  # fmt: skip
    result = CliRunner().invoke(app, [*arguments, "--autobox-ligand", str(reference)])
    assert result.exit_code == 0, result.output
    assert "Validation: the reference ligand redocked at" in result.output
    assert "from the reference pose, closest pose" in result.output
    refused = CliRunner().invoke(app, [*arguments, *("--center", "15.19", "53.90", "16.92"),
                                       *("--size", "14", "14", "14")])  # fmt: skip
    assert refused.exit_code != 0 and "validate=true redocks the reference ligand" in refused.output
