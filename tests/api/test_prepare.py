"""``POST /api/prepare`` and the same checks on ``POST /api/jobs``, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.config import Settings
from tests.conftest import EXAMPLE, SMALL_BOX, TEST_DATA, LiveServer

POSEBUSTERS = TEST_DATA / "posebusters"
RAW_1S3V = POSEBUSTERS / "1s3v" / "1s3v_protein_one_lig_removed.pdb"
RAW_1IA1 = POSEBUSTERS / "1ia1" / "1ia1_protein_one_lig_removed.pdb"
BENZAMIDE = "NC(=O)c1ccccc1"


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("prepare")
    settings = Settings(
        data_dir=folder, database_url=f"sqlite:///{folder / 'db.sqlite'}", workers=1
    )
    with LiveServer(settings) as server:
        yield server


def receptor(path: Path = EXAMPLE / "1iep_receptorH.pdb") -> dict:
    return {"receptor": (path.name, path.read_bytes())}


def test_prepare_answers_the_contract_for_the_example(live):
    response = live.client.post(
        "/api/prepare", files=receptor(), data={"smiles": BENZAMIDE, **SMALL_BOX}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"receptor", "ligand", "box", "pockets", "warnings"}
    assert set(body["receptor"]) == {"format", "report", "pdbqt", "pdb"}
    assert body["receptor"]["format"] == "pdb"
    report = body["receptor"]["report"]
    assert report["residues"] == 274 and report["protonation"]["ph"] == 7.4
    assert body["ligand"]["smiles"] == BENZAMIDE and body["ligand"]["num_heavy_atoms"] == 9
    assert {"name", "notes", "pdbqt", "sdf"} <= set(body["ligand"])
    assert body["box"] == {key: float(value) for key, value in SMALL_BOX.items()}
    assert body["pockets"] == []
    assert isinstance(body["warnings"], list)


def test_prepare_without_a_box_lists_pockets_and_keeps_options(live):
    response = live.client.post(
        "/api/prepare",
        files=receptor(RAW_1IA1),
        data={"keep_hetero": "cofactors", "ph": "6.5"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["box"] is None and body["ligand"] is None
    pocket = body["pockets"][0]
    assert set(pocket) == {"rank", "center", "size", "volume", "depth", "score", "residues"}
    assert pocket["rank"] == 1 and len(pocket["center"]) == 3 and pocket["volume"] > 100
    report = body["receptor"]["report"]
    assert report["protonation"]["ph"] == 6.5
    assert "NDP A:193 (cofactor)" in report["hetero_groups_kept"]
    assert len(report["residues_rebuilt"]) == 2
    assert " H " in body["receptor"]["pdb"] and "NDP" in body["receptor"]["pdbqt"]


@pytest.mark.parametrize(
    ("data", "files", "status", "field"),
    [
        ({}, {}, 415, "Content-Type"),  # an empty body is no multipart form
        ({"smiles": "OB(O)c1ccccc1"}, None, 422, "smiles"),
        ({"smiles": "C[As](C)C"}, None, 422, "smiles"),
        ({"smiles": "C(C)(C)(C)(C)C"}, None, 422, "smiles"),
        ({"ph": "15"}, None, 422, "ph"),
        ({"altloc": "AB"}, None, 422, "altloc"),
        ({"keep_hetero": "some!"}, None, 422, "keep_hetero"),
        ({"stereo": "maybe"}, None, 422, "stereo"),
        ({"pocket": "99"}, None, 422, "pocket"),
        ({"box_residues": "Z:9999"}, None, 422, "box_residues"),
        ({"blind": "perhaps"}, None, 422, "blind"),
        ({"center_x": "north", "center_y": "1", "center_z": "1"}, None, 422, "center_x"),
        ({"smiles": "CCO"}, {**receptor(), "ligand": ("l.sdf", b"x")}, 422, "ligand"),
        ({}, {"receptor": ("r.docx", b"PK")}, 415, "receptor"),
        ({}, {"receptor": ("r.pdb", b"HEADER\nEND\n")}, 422, "receptor"),
    ],
)
def test_prepare_errors_have_the_api_shape(live, data, files, status, field):
    response = live.client.post(
        "/api/prepare", files=receptor() if files is None else files, data=data
    )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "field"} and error["field"] == field


def test_prepare_warns_where_a_job_is_refused(live):
    far = {**SMALL_BOX, "center_x": "95"}
    response = live.client.post("/api/prepare", files=receptor(), data={"smiles": BENZAMIDE, **far})
    assert response.status_code == 200
    assert any("does not touch the protein" in w for w in response.json()["warnings"])
    response = live.client.post("/api/jobs", files=receptor(), data={"smiles": BENZAMIDE, **far})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "center_x"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"smiles": "OB(O)c1ccccc1", **SMALL_BOX}, "smiles"),
        ({"smiles": BENZAMIDE, **SMALL_BOX, "keep_hetero": "bad name!"}, "keep_hetero"),
        ({"smiles": BENZAMIDE, **SMALL_BOX, "blind": "true"}, "blind"),
        ({"smiles": BENZAMIDE}, "center_x"),
    ],
)
def test_jobs_refuse_what_would_fail(live, data, field):
    before = live.client.get("/api/jobs").json()["jobs"]
    response = live.client.post("/api/jobs", files=receptor(), data=data)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    assert live.client.get("/api/jobs").json()["jobs"] == before


def test_job_from_a_raw_pdb_stores_the_prepared_receptor_and_its_report(live):
    reference = POSEBUSTERS / "1s3v" / "1s3v_ligand.sdf"
    response = live.client.post(
        "/api/jobs",
        files={**receptor(RAW_1S3V), "reference_ligand": (reference.name, reference.read_bytes())},
        data={
            "smiles": BENZAMIDE,
            "padding": "2",
            "exhaustiveness": "1",
            "num_poses": "2",
            "seed": "7",
            "ph": "7.0",
        },
    )
    assert response.status_code == 201, response.text
    job_id = response.json()["job_id"]
    pending = live.client.get(f"/api/jobs/{job_id}").json()
    assert pending["params"]["receptor_report"]["hydrogens_added"] > 1000
    assert pending["params"]["preparation"]["ph"] == 7.0
    assert pending["params"]["box_source"] == "reference_ligand"
    assert {"receptor.pdbqt", "receptor_prepared.pdb", "receptor.pdb"} <= set(pending["files"])
    job = live.wait(job_id)
    assert job["status"] == "completed", job["error"]
    assert job["results"]["receptor_report"] == pending["params"]["receptor_report"]
    assert job["stage"] != "preparing receptor"
    prepared = live.client.get(f"/api/jobs/{job_id}/receptor.pdbqt").text
    assert prepared.count("ATOM") > 1000


def test_job_with_enumerated_stereoisomers_docks_each(live):
    response = live.client.post(
        "/api/jobs",
        files=receptor(),
        data={
            "smiles": "CC(O)C(=O)Nc1ccccc1",
            "stereo": "enumerate",
            **SMALL_BOX,
            "exhaustiveness": "1",
            "num_poses": "2",
            "seed": "3",
        },
    )
    assert response.status_code == 201, response.text
    job = live.wait(response.json()["job_id"])
    assert job["status"] == "completed", job["error"]
    isomers = job["results"]["stereoisomers"]
    assert len(isomers) == 2 and {row["smiles"] for row in isomers} == set(
        job["params"]["ligand"]["stereoisomers"]
    )
    assert job["results"]["best_score"] == min(row["best_score"] for row in isomers)
    assert "ligand_isomer_2.pdbqt" in job["files"]
