"""Who may export and import, and that a big screen's archive streams in bounded memory:
real HTTP, real tokens, SQLite and PostgreSQL."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from dockyard.chem.ligand.library import LibraryEntry
from dockyard.config import Settings
from dockyard.jobs.archive import ArchiveExport
from dockyard.jobs.fence import StoredFile
from dockyard.jobs.models import Job, JobStatus, LigandStatus, ScreenLigand, utcnow
from dockyard.jobs.store import Store
from tests.accounts.test_lab_server import Lab
from tests.archives.helpers import entries, manifest_of
from tests.conftest import LiveServer


@pytest.fixture
def accounts(tmp_path: Path, database_url: str):
    settings = Settings(data_dir=tmp_path, database_url=database_url, workers=1)
    with LiveServer(settings) as live:
        lab = Lab(live)
        yield lab
        lab.close()


def test_only_those_who_see_a_job_export_it_and_an_import_is_the_importers(accounts: Lab):
    alices = accounts.job("alice")
    alice, bob = accounts.clients["alice"], accounts.clients["bob"]
    for path in (f"/api/jobs/{alices.id}/archive.zip", f"/api/screens/{alices.id}/archive.zip"):
        refused = bob.get(path)
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
    archive = alice.get(f"/api/jobs/{alices.id}/archive.zip")
    assert archive.status_code == 200
    assert accounts.anonymous.get(f"/api/jobs/{alices.id}/archive.zip").status_code == 401
    upload = {"archive": ("study.zip", archive.content, "application/zip")}
    assert accounts.anonymous.post("/api/archives", files=upload).status_code == 401

    imported = bob.post("/api/archives", files=upload)
    assert imported.status_code == 201, imported.text
    bobs = imported.json()["job_id"]
    assert accounts.store.get_job(bobs).owner_id == accounts.users["bob"].id
    assert bob.get(f"/api/jobs/{bobs}").status_code == 200
    assert alice.get(f"/api/jobs/{bobs}").status_code == 404
    assert accounts.clients["admin"].get(f"/api/jobs/{bobs}").status_code == 200
    listed = [job["id"] for job in bob.get("/api/jobs").json()["jobs"]]
    assert listed == [bobs]


def test_a_running_job_answers_409_naming_its_status(accounts: Lab):
    running = accounts.job("alice", status=JobStatus.RUNNING)
    response = accounts.clients["alice"].get(f"/api/jobs/{running.id}/archive.zip")
    assert response.status_code == 409
    assert "running" in response.json()["error"]["message"]


def test_an_import_over_the_storage_quota_is_refused(accounts: Lab):
    alices = accounts.job("alice")
    archive = accounts.clients["alice"].get(f"/api/jobs/{alices.id}/archive.zip").content
    bob = accounts.users["bob"]
    accounts.store.accounts.update_user(bob.id, max_stored_bytes=5)
    upload = StoredFile("ligand_input.sdf", b"x" * 10)
    accounts.store.create_job(kind="dock", name="x", params={}, owner_id=bob.id, files=[upload])
    refused = accounts.clients["bob"].post("/api/archives", files={"archive": ("a.zip", archive)})
    assert refused.status_code == 413, refused.text
    assert refused.json()["error"]["field"] == "max_stored_bytes"


LIGANDS = 20_000
POSES = "".join(f"pose {n}\n" + "C" * 400 + "\n$$$$\n" for n in range(8))
"""About 3.3 kB of poses per ligand: 66 MB for the screen."""


def big_screen(store: Store, ligands: int = LIGANDS) -> int:
    screen = store.screens.create(
        name="big", params={}, files=[],
        entries=(LibraryEntry(i, f"ligand {i}", "c1ccccc1O", "smi") for i in range(ligands)),
        chunk_size=lambda total: 200, max_attempts=1, time_limit=60,
    )  # fmt: skip
    now = utcnow()
    with store.session() as session, session.begin():
        done = {"status": JobStatus.COMPLETED, "finished_at": now}
        session.execute(update(Job).where(Job.id == screen.id).values(**done))
        session.execute(update(Job).where(Job.parent_id == screen.id).values(**done))
        session.execute(
            update(ScreenLigand).where(ScreenLigand.screen_id == screen.id).values(
                status=LigandStatus.COMPLETED, score=ScreenLigand.index * -0.001, poses_sdf=POSES)
        )  # fmt: skip
    return screen.id


def peak_export_memory(store: Store, screen_id: int) -> tuple[int, int, int]:
    """The peak memory of exporting a screen, the bytes written and the largest piece."""
    export = ArchiveExport.open(store, screen_id)
    written, largest = 0, 0
    tracemalloc.start()
    try:
        for chunk in export.chunks():
            written += len(chunk)
            largest = max(largest, len(chunk))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, written, largest


def test_a_big_screen_exports_in_bounded_memory(database_url: str):
    """Four times the ligands, about the same memory: it grows with a batch, not the screen."""
    store = Store.open(database_url)
    try:
        small = big_screen(store, LIGANDS // 4)
        big = big_screen(store, LIGANDS)
        assert ArchiveExport.open(store, big).steps == LIGANDS
        small_peak, small_written, _ = peak_export_memory(store, small)
        peak, written, largest = peak_export_memory(store, big)
    finally:
        store.close()
    assert written > 3 * small_written
    assert peak < 1.5 * small_peak, (peak, small_peak)
    assert peak < LIGANDS * len(POSES) / 3
    assert largest < 4 * 1024 * 1024


def test_the_route_streams_the_archive_in_pieces(server):
    screen_id = big_screen(server.store)
    pieces = []
    with server.client.stream("GET", f"/api/jobs/{screen_id}/archive.zip") as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers
        assert response.headers["transfer-encoding"] == "chunked"
        for piece in response.iter_raw():
            pieces.append(piece)
    end_of_zip = b"PK\x05\x06"
    assert len(pieces) > 10 and end_of_zip not in pieces[0]
    archive = b"".join(pieces)
    assert len(entries(archive)["ligands.jsonl"].splitlines()) == LIGANDS
    assert manifest_of(archive)["screen"]["ligands"]["count"] == LIGANDS
    imported = server.client.post(
        "/api/archives", files={"archive": ("big.zip", archive)}, timeout=httpx.Timeout(300)
    )
    assert imported.status_code == 201, imported.text
    page = server.client.get(f"/api/screens/{imported.json()['job_id']}/ligands?limit=1").json()
    assert page["total"] == LIGANDS
