"""Archives of real dockings and a real screen, on SQLite and PostgreSQL: export, delete,
import, and every field and file is back (a new id, the importer as owner, a note of where it
came from)."""

from __future__ import annotations

import io
import zipfile

from rdkit import Chem
from rdkit.Chem import AllChem
from sqlalchemy import update

from dockyard.jobs.models import Job, JobStatus
from tests.archives.helpers import entries, manifest_of, snapshot
from tests.screens.test_screens import smi, submit

LIGANDS = [("benzamide", "NC(=O)c1ccccc1"), ("phenol", "Oc1ccccc1"), ("bad", "C1CC(=O"),
           ("phenol again", "c1ccc(O)cc1"), ("pyridine", "c1ccncc1")]  # fmt: skip


def ligand_sdf(smiles: str) -> bytes:
    molecule = Chem.AddHs(Chem.MolFromSmiles(smiles))
    AllChem.EmbedMolecule(molecule, randomSeed=7)
    return Chem.MolToMolBlock(molecule).encode()


def download(server, path: str) -> bytes:
    response = server.client.get(path)
    assert response.status_code == 200, response.text
    return response.content


def import_archive(server, archive: bytes, filename: str = "study.zip"):
    return server.client.post(
        "/api/archives", files={"archive": (filename, archive, "application/zip")}
    )


def test_a_docking_comes_back_whole(shared_server, small_job):
    fields, files = small_job(name="benzamide from a file")
    del fields["smiles"]
    files["ligand"] = ("benzamide.sdf", ligand_sdf("NC(=O)c1ccccc1"))
    job_id = shared_server.submit(files, **fields).json()["job_id"]
    job = shared_server.wait(job_id)
    assert job["status"] == "completed", job["error"]
    store = shared_server.store
    before = snapshot(store, job_id)
    stored = {name: download(shared_server, f"/api/jobs/{job_id}/{name}") for name in job["files"]}
    downloads = {name: download(shared_server, url) for name, url in job["downloads"].items()}

    response = shared_server.client.get(f"/api/jobs/{job_id}/archive.zip")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert f'filename="dockyard-dock-{job_id}.zip"' in response.headers["content-disposition"]
    archive = response.content
    zipped = entries(archive)
    assert set(zipped) == {
        "README.md", "dockyard-archive.json", "inputs/ligand_input.sdf",
        "prepared/receptor.pdbqt", "prepared/receptor_prepared.pdb", "prepared/ligand.pdbqt",
        "prepared/receptor_report.json", "results/poses.sdf", "results/poses.pdbqt",
        "results/results.csv",
    }  # fmt: skip
    assert "# Dockyard archive: docking" in zipped["README.md"].decode()
    assert "inputs/" in zipped["README.md"].decode()
    for name in ("poses.sdf", "poses.pdbqt", "results.csv"):
        assert zipped[f"results/{name}"] == downloads[name]
    manifest = manifest_of(archive)
    assert manifest["format"] == "dockyard-archive" and manifest["version"] == 1
    assert manifest["kind"] == "dock" and manifest["status"] == "completed"
    assert manifest["parameters"] == job["params"] and manifest["results"] == job["results"]
    assert manifest["provenance"]["seed"] == 42 and "vina" in manifest["provenance"]
    assert manifest["source"]["job_id"] == job_id
    assert manifest["source"]["server"] == shared_server.url

    assert shared_server.client.delete(f"/api/jobs/{job_id}").status_code == 204
    imported = import_archive(shared_server, archive)
    assert imported.status_code == 201, imported.text
    new_id = imported.json()["job_id"]
    assert new_id != job_id and imported.headers["location"] == f"/api/jobs/{new_id}"

    assert snapshot(store, new_id) == before
    again = shared_server.client.get(f"/api/jobs/{new_id}").json()
    for key in ("id", "updated_at", "provenance", "downloads"):
        again.pop(key), job.pop(key)
    assert again == job
    origin = store.get_job(new_id).provenance["imported_from"]
    assert origin["job_id"] == job_id and origin["server"] == shared_server.url
    assert origin["imported_at"] >= origin["exported_at"]
    for name, content in stored.items():
        assert download(shared_server, f"/api/jobs/{new_id}/{name}") == content
    for name, content in downloads.items():
        assert download(shared_server, f"/api/jobs/{new_id}/{name}") == content
    page = shared_server.client.get(f"/jobs/{new_id}", headers={"accept": "text/html"})
    assert page.status_code == 200 and f"/api/jobs/{new_id}/archive.zip" in page.text


def test_a_failed_docking_archives_and_comes_back_failed(shared_server, small_job):
    fields, files = small_job(exhaustiveness="1")
    job_id = shared_server.submit(files, **fields).json()["job_id"]
    shared_server.wait(job_id)
    store = shared_server.store
    with store.session() as session, session.begin():
        session.execute(
            update(Job).where(Job.id == job_id).values(
                status=JobStatus.FAILED, error="Vina ran out of patience", error_detail="trace")
        )  # fmt: skip
    before = snapshot(store, job_id)
    archive = download(shared_server, f"/api/jobs/{job_id}/archive.zip")
    assert "results/results.csv" not in entries(archive)  # a table only of completed jobs
    new_id = import_archive(shared_server, archive).json()["job_id"]
    assert snapshot(store, new_id) == before
    assert store.get_job(new_id).error == "Vina ran out of patience"
    page = shared_server.client.get(f"/jobs/{new_id}", headers={"accept": "text/html"})
    assert page.status_code == 200 and f"/api/jobs/{new_id}/archive.zip" in page.text


def test_a_screen_comes_back_with_every_ligand_and_its_chunks(shared_server, receptor_pdbqt):
    created = submit(shared_server, receptor_pdbqt, smi(LIGANDS), chunk_size="2").json()
    screen_id = created["job_id"]
    job = shared_server.wait(screen_id, timeout=240)
    assert job["status"] == "completed", job
    store = shared_server.store
    before = snapshot(store, screen_id)
    assert len(before["ligands"]) == 5 and len(before["jobs"]) == 1 + 3
    overview = shared_server.client.get(f"/api/screens/{screen_id}").json()
    table = download(shared_server, f"/api/screens/{screen_id}/results.csv")
    top = download(shared_server, f"/api/screens/{screen_id}/top.sdf")
    ligands = shared_server.client.get(f"/api/screens/{screen_id}/ligands?limit=500").json()
    poses = download(shared_server, f"/api/screens/{screen_id}/ligands/0/poses.sdf")

    archive = download(shared_server, f"/api/screens/{screen_id}/archive.zip")
    zipped = entries(archive)
    assert set(entries(download(shared_server, f"/api/jobs/{screen_id}/archive.zip"))) == set(
        zipped
    )
    assert {"README.md", "dockyard-archive.json", "ligands.jsonl", "results/results.csv",
            "results/top.sdf", "prepared/receptor.pdbqt"} <= set(zipped)  # fmt: skip
    assert zipped["results/results.csv"] == table and zipped["results/top.sdf"] == top
    assert len(zipped["ligands.jsonl"].splitlines()) == 5
    manifest = manifest_of(archive)
    assert manifest["screen"]["total"] == 5 and manifest["screen"]["ligands"]["count"] == 5
    assert [child["kind"] for child in manifest["children"]] == ["screen_chunk"] * 3

    assert shared_server.client.delete(f"/api/jobs/{screen_id}").status_code == 204
    imported = import_archive(shared_server, archive)
    assert imported.status_code == 201, imported.text
    new_id = imported.json()["job_id"]
    assert imported.headers["location"] == f"/api/screens/{new_id}"
    assert snapshot(store, new_id) == before
    again = shared_server.client.get(f"/api/screens/{new_id}").json()
    for key in ("id", "updated_at", "downloads"):
        again.pop(key), overview.pop(key)
    assert again == overview
    assert download(shared_server, f"/api/screens/{new_id}/results.csv") == table
    assert download(shared_server, f"/api/screens/{new_id}/top.sdf") == top
    assert shared_server.client.get(f"/api/screens/{new_id}/ligands?limit=500").json() == ligands
    assert download(shared_server, f"/api/screens/{new_id}/ligands/0/poses.sdf") == poses
    page = shared_server.client.get(f"/screens/{new_id}", headers={"accept": "text/html"})
    assert page.status_code == 200 and f"/api/screens/{new_id}/archive.zip" in page.text


def test_a_running_job_is_not_archived_yet(shared_server, small_job):
    fields, files = small_job(exhaustiveness="8")
    fields.update({key: "30" for key in ("size_x", "size_y", "size_z")})
    job_id = shared_server.submit(files, **fields).json()["job_id"]
    response = shared_server.client.get(f"/api/jobs/{job_id}/archive.zip")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["field"] == "job_id" and error["code"] == "conflict"
    assert any(status in error["message"] for status in ("pending", "running"))
    shared_server.client.post(f"/api/jobs/{job_id}/cancel")
    shared_server.wait(job_id)
    cancelled = shared_server.client.get(f"/api/jobs/{job_id}/archive.zip")
    assert cancelled.status_code == 200
    assert manifest_of(cancelled.content)["status"] == "cancelled"


def test_the_archive_is_a_plain_zip_with_a_readme(shared_server, small_job):
    fields, files = small_job()
    job_id = shared_server.submit(files, **fields).json()["job_id"]
    shared_server.wait(job_id)
    archive = download(shared_server, f"/api/jobs/{job_id}/archive.zip")
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        assert zipped.testzip() is None
        readme = zipped.read("README.md").decode()
    for folder in ("inputs/", "prepared/", "results/", "ligands.jsonl", "dockyard-archive.json"):
        assert folder in readme
