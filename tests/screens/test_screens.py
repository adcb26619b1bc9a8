"""Virtual screens end to end: real libraries, real dockings, invalid ligands, exports."""

from __future__ import annotations

import csv
import gzip
import io
import zipfile

import pytest
from rdkit import Chem

from tests.conftest import SMALL_BOX

SMALL_LIGANDS = [
    ("benzamide", "NC(=O)c1ccccc1"),
    ("phenol", "Oc1ccccc1"),
    ("naphthalene", "c1ccc2ccccc2c1"),
    ("acetanilide", "CC(=O)Nc1ccccc1"),
    ("o-cresol", "Cc1ccccc1O"),
    ("bad-smiles", "C1CC(=O"),
    ("phenol again", "c1ccc(O)cc1"),
    ("boron", "OB(O)c1ccccc1"),
    ("indole", "c1ccc2[nH]ccc2c1"),
    ("pyridine", "c1ccncc1"),
]
FAST = {"exhaustiveness": "1", "num_poses": "2", "seed": "11"}


def smi(ligands=SMALL_LIGANDS) -> bytes:
    return "".join(f"{smiles} {name}\n" for name, smiles in ligands).encode()


def submit(server, receptor_pdbqt, library, filename="library.smi", **fields):
    files = {"receptor": ("1iep.pdbqt", receptor_pdbqt), "library": (filename, library)}
    return server.client.post("/api/screens", data={**SMALL_BOX, **FAST, **fields}, files=files)


def wait_screen(server, screen_id, timeout=240):
    job = server.wait(screen_id, timeout=timeout)
    return job, server.client.get(f"/api/screens/{screen_id}").json()


def test_screen_docks_every_ligand_and_records_failures(server, receptor_pdbqt):
    response = submit(server, receptor_pdbqt, smi(), chunk_size="3")
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["total"] == len(SMALL_LIGANDS) and created["chunk_size"] == 3

    job, screen = wait_screen(server, created["job_id"])
    assert job["status"] == "completed", job
    counts = screen["counts"]
    assert counts == {"total": 10, "completed": 7, "failed": 2, "duplicates": 1, "pending": 0}
    assert screen["best_score"] == screen["leaderboard"][0]["score"] < 0
    assert [row["score"] for row in screen["leaderboard"]] == sorted(
        row["score"] for row in screen["leaderboard"]
    )
    ligands = server.client.get(f"/api/screens/{created['job_id']}/ligands", params={"limit": 100})
    by_name = {row["name"]: row for row in ligands.json()["ligands"]}
    assert (
        by_name["bad-smiles"]["status"] == "failed" and "SMILES" in by_name["bad-smiles"]["error"]
    )
    assert by_name["boron"]["status"] == "failed" and "B" in by_name["boron"]["error"]
    assert by_name["phenol again"]["status"] == "duplicate"
    assert by_name["phenol again"]["duplicate_of"] == 1
    benzamide = by_name["benzamide"]
    assert benzamide["heavy_atoms"] == 9 and abs(benzamide["molecular_weight"] - 121.14) < 0.1
    assert benzamide["ligand_efficiency"] == pytest.approx(-benzamide["score"] / 9, abs=1e-3)
    # The job list shows the screen (not its chunks) with its best score.
    listed = server.client.get("/api/jobs", params={"limit": 50}).json()["jobs"]
    assert listed[0]["id"] == created["job_id"] and listed[0]["best_score"] == screen["best_score"]


def test_sort_filter_and_page_the_ligand_table(server, receptor_pdbqt):
    screen_id = submit(server, receptor_pdbqt, smi()).json()["job_id"]
    wait_screen(server, screen_id)
    url = f"/api/screens/{screen_id}/ligands"
    by_weight = server.client.get(url, params={"sort": "molecular_weight", "order": "desc"}).json()
    weights = [row["molecular_weight"] for row in by_weight["ligands"] if row["molecular_weight"]]
    assert weights == sorted(weights, reverse=True)
    failed = server.client.get(url, params={"status": "failed"}).json()
    assert failed["total"] == 2 and {row["status"] for row in failed["ligands"]} == {"failed"}
    page = server.client.get(url, params={"limit": 3, "offset": 3}).json()
    assert page["total"] == 10 and len(page["ligands"]) == 3
    named = server.client.get(url, params={"name": "phen"}).json()
    assert {row["name"] for row in named["ligands"]} == {"phenol", "phenol again"}
    bad_sort = server.client.get(url, params={"sort": "colour"})
    assert bad_sort.status_code == 422 and bad_sort.json()["error"]["field"] == "sort"
    histogram = server.client.get(f"/api/screens/{screen_id}/histogram", params={"bins": 5}).json()
    assert sum(histogram["counts"]) + histogram["above_zero"] == 7
    assert len(histogram["edges"]) == 6
    ligand = server.client.get(f"{url}/0").json()
    assert ligand["poses_sdf"].count("$$$$") >= 1


def test_exports_stream_every_ligand_and_the_top_poses(server, receptor_pdbqt):
    screen_id = submit(server, receptor_pdbqt, smi()).json()["job_id"]
    wait_screen(server, screen_id)
    with server.client.stream("GET", f"/api/screens/{screen_id}/results.csv") as response:
        text = "".join(response.iter_text())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 10
    scores = [float(row["score"]) for row in rows if row["score"]]
    assert len(scores) == 7 and scores == sorted(scores)
    sdf = server.client.get(f"/api/screens/{screen_id}/top.sdf", params={"n": 3}).text
    supplier = Chem.SDMolSupplier()
    supplier.SetData(sdf)
    molecules = [mol for mol in supplier if mol is not None]
    assert len(molecules) == 3
    assert [int(mol.GetProp("dockyard_rank")) for mol in molecules] == [1, 2, 3]
    assert float(molecules[0].GetProp("screen_score")) == scores[0]


@pytest.mark.parametrize("kind", ["csv", "sdf", "gz", "zip"])
def test_library_formats(server, receptor_pdbqt, kind):
    ligands = SMALL_LIGANDS[:3]
    if kind == "csv":
        content = ("id,SMILES\n" + "".join(f"{n},{s}\n" for n, s in ligands)).encode()
        filename = "library.csv"
    elif kind == "sdf":
        buffer = io.StringIO()
        writer = Chem.SDWriter(buffer)
        for name, smiles in ligands:
            mol = Chem.MolFromSmiles(smiles)
            mol.SetProp("_Name", name)
            writer.write(mol)
        writer.close()
        content, filename = buffer.getvalue().encode(), "library.sdf"
    elif kind == "gz":
        content, filename = gzip.compress(smi(ligands)), "library.smi.gz"
    else:
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("part1.smi", smi(ligands[:2]))
            zipped.writestr("part2.smi", smi(ligands[2:]))
        content, filename = archive.getvalue(), "library.zip"
    screen_id = submit(server, receptor_pdbqt, content, filename).json()["job_id"]
    _, screen = wait_screen(server, screen_id)
    assert screen["counts"]["completed"] == 3, screen
    names = {row["name"] for row in screen["leaderboard"]}
    assert names == {name for name, _ in ligands}


@pytest.mark.parametrize(
    ("library", "filename", "status", "field"),
    [
        (None, None, 422, "library"),
        (b"", "empty.smi", 422, "library"),
        (b"# only a comment\n\n", "comments.smi", 422, "library"),
        (b"name,weight\nx,1\n", "table.csv", 422, "library"),
        (b"not gzip at all", "library.smi.gz", 422, "library"),
        (b"not a zip", "library.zip", 422, "library"),
        (b"CCO ethanol\n", "library.xlsx", 415, "library"),
    ],
)
def test_bad_libraries_are_refused(server, receptor_pdbqt, library, filename, status, field):
    files = {"receptor": ("1iep.pdbqt", receptor_pdbqt)}
    if library is not None:
        files["library"] = (filename, library)
    response = server.client.post("/api/screens", data={**SMALL_BOX, **FAST}, files=files)
    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] == field
    assert server.client.get("/api/jobs").json()["jobs"] == []


def test_cancel_stops_every_chunk(server, receptor_pdbqt):
    library = smi(SMALL_LIGANDS * 4)
    screen_id = submit(
        server, receptor_pdbqt, library, chunk_size="4", skip_duplicates="false"
    ).json()["job_id"]
    server.wait(screen_id, statuses=("running",))
    assert server.client.post(f"/api/jobs/{screen_id}/cancel").status_code == 200
    job, screen = wait_screen(server, screen_id)
    assert job["status"] == "cancelled"
    with server.store.session() as session:
        from sqlalchemy import select

        from dockyard.jobs.models import Job

        chunks = session.scalars(select(Job.status).where(Job.parent_id == screen_id)).all()
    assert chunks and all(status.value in ("cancelled", "completed") for status in chunks)
    assert screen["counts"]["pending"] > 0


def test_a_screen_with_auto_effort_docks_every_ligand_adaptively(server, receptor_pdbqt):
    three = SMALL_LIGANDS[:3]
    response = submit(server, receptor_pdbqt, smi(three), effort="auto")
    assert response.status_code == 201, response.text
    job, screen = wait_screen(server, response.json()["job_id"])
    assert job["status"] == "completed", job
    assert job["params"]["effort"] == "auto"
    assert screen["counts"]["completed"] == len(three)
    refused = submit(server, receptor_pdbqt, smi(three), effort="thorough")
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "effort"
