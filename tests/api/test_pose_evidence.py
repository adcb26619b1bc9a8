"""Every docking with a reference ligand is its own redocking control, over the API.

The worker adds each pose's RMSD to the reference and PoseBusters' verdict to the results, the
SDF and the CSV; the job page shows them.
"""

from __future__ import annotations

import csv
import io

import pytest
from rdkit import Chem

from tests.conftest import FAST_OPTIONS, SMALL_SMILES


@pytest.fixture(scope="module")
def benzamide_with_reference(shared_server, receptor_pdbqt, imatinib_sdf):
    """Benzamide docked with imatinib as the reference: a common-substructure comparison."""
    files = {
        "receptor": ("1iep.pdbqt", receptor_pdbqt, "chemical/x-pdbqt"),
        "reference_ligand": ("1iep_ligand.sdf", imatinib_sdf),
    }
    fields = {**FAST_OPTIONS, "smiles": SMALL_SMILES, "padding": "2"}
    response = shared_server.submit(files, **fields)
    assert response.status_code == 201, response.text
    return shared_server.wait(response.json()["job_id"])


def test_poses_carry_their_rmsd_to_the_reference_and_plausibility(benzamide_with_reference):
    job = benzamide_with_reference
    assert job["status"] == "completed", job["error"]
    poses = job["results"]["poses"]
    assert poses
    for pose in poses:
        assert pose["rmsd_kind"] == "common substructure"
        assert 3 <= pose["mcs_atoms"] <= 9  # benzamide has 9 heavy atoms
        assert 0 <= pose["rmsd_to_reference"] < 30
        assert isinstance(pose["plausibility"]["valid"], bool)
        assert isinstance(pose["plausibility"]["failed"], list)


def test_the_csv_sdf_and_page_show_the_evidence(shared_server, benzamide_with_reference):
    job = benzamide_with_reference
    base = f"/api/jobs/{job['id']}"
    rows = list(csv.DictReader(io.StringIO(shared_server.client.get(f"{base}/results.csv").text)))
    first = job["results"]["poses"][0]
    assert float(rows[0]["rmsd_to_reference"]) == pytest.approx(first["rmsd_to_reference"])
    assert rows[0]["rmsd_kind"] == "common substructure"
    assert rows[0]["plausible"] == str(first["plausibility"]["valid"])
    supplier = Chem.SDMolSupplier()
    supplier.SetData(shared_server.client.get(f"{base}/poses.sdf").text)
    records = list(supplier)
    assert len(records) == len(job["results"]["poses"])
    assert records[0].GetProp("rmsd_kind") == "common substructure"
    assert float(records[0].GetProp("rmsd_to_reference")) == pytest.approx(
        first["rmsd_to_reference"], abs=1e-3
    )
    assert records[0].GetProp("plausible") == str(int(first["plausibility"]["valid"]))
    page = shared_server.client.get(f"/jobs/{job['id']}").text
    assert "vs reference" in page and f"MCS {first['mcs_atoms']}" in page
    assert "badge-plausible" in page or "badge-implausible" in page


def test_a_docking_without_reference_has_plausibility_but_no_rmsd(shared_server, small_job):
    fields, files = small_job()
    response = shared_server.submit(files, **fields)
    job = shared_server.wait(response.json()["job_id"])
    assert job["status"] == "completed", job["error"]
    for pose in job["results"]["poses"]:
        assert "rmsd_to_reference" not in pose
        assert "plausibility" in pose
    header = shared_server.client.get(f"/api/jobs/{job['id']}/results.csv").text.splitlines()[0]
    assert "rmsd_to_reference" not in header and "plausible" in header


def test_redocking_the_crystal_ligand_gives_a_finite_same_molecule_rmsd(
    shared_server, receptor_pdb, imatinib_sdf
):
    """Imatinib from its crystal SDF, docked around itself (exhaustiveness 1: a smoke test of
    the numbers, not of Vina's accuracy)."""
    files = {
        "receptor": ("1iep_receptorH.pdb", receptor_pdb),
        "ligand": ("1iep_ligand.sdf", imatinib_sdf),
        "reference_ligand": ("1iep_ligand.sdf", imatinib_sdf),
    }
    response = shared_server.submit(files, padding="2", exhaustiveness="1", num_poses="2", seed="1")
    assert response.status_code == 201, response.text
    job = shared_server.wait(response.json()["job_id"], timeout=240)
    assert job["status"] == "completed", job["error"]
    for pose in job["results"]["poses"]:
        assert pose["rmsd_kind"] == "same molecule" and pose["mcs_atoms"] == 37
        assert 0 <= pose["rmsd_to_reference"] < 20
