"""The chemistry endpoints of the pages: interactions of a real docking's poses, depictions,
and the live stream's resumption after a reconnect."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from dockyard.config import Settings
from dockyard.jobs.models import Job, JobStatus, utcnow
from tests.conftest import LiveServer
from tests.web.test_pages import PARAMS


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("analysis")
    settings = Settings(data_dir=data, database_url=f"sqlite:///{data / 'd.db'}", workers=1)
    with LiveServer(settings) as server:
        yield server


@pytest.fixture(scope="module")
def docked(live: LiveServer, receptor_pdbqt: bytes) -> dict:
    """A completed small docking: benzamide in the imatinib pocket of 1IEP."""
    from tests.conftest import FAST_OPTIONS, SMALL_BOX, SMALL_SMILES

    files = {"receptor": ("1iep.pdbqt", receptor_pdbqt, "chemical/x-pdbqt")}
    response = live.submit(files, **SMALL_BOX, **FAST_OPTIONS, smiles=SMALL_SMILES)
    assert response.status_code == 201, response.text
    job = live.wait(response.json()["job_id"])
    assert job["status"] == "completed", job
    return job


def test_each_pose_has_its_interactions_and_contact_residues(live, docked):
    job_id = docked["id"]
    ranks = [pose["rank"] for pose in docked["results"]["poses"]]
    answers = [live.client.get(f"/api/jobs/{job_id}/poses/{rank}/interactions") for rank in ranks]
    assert all(answer.status_code == 200 for answer in answers), answers[0].text
    first = answers[0].json()
    assert first["rank"] == 1
    assert first["affinity"] == docked["results"]["poses"][0]["affinity"]
    assert first["residues"], first
    assert all(label.count(":") == 2 for label in first["residues"])
    assert set(first["counts"]) >= {"hydrogen_bond", "hydrophobic", "pi_stacking", "metal"}
    assert any(answer.json()["interactions"] for answer in answers)
    for answer in answers:
        for found in answer.json()["interactions"]:
            assert found["residue"] in answer.json()["residues"] or found["distance"] > 3.5
            assert len(found["ligand_point"]) == len(found["protein_point"]) == 3


def test_a_missing_pose_is_a_404_naming_the_rank(live, docked):
    response = live.client.get(f"/api/jobs/{docked['id']}/poses/99/interactions")
    assert response.status_code == 404
    assert response.json()["error"]["field"] == "rank"


def test_interactions_of_an_unfinished_job_are_a_409(live):
    job = live.store.create_job(kind="dock", name="waiting", params=PARAMS)
    with live.store.session() as session, session.begin():
        values = {"status": JobStatus.FAILED, "stage": "failed", "attempt": 5}
        session.execute(update(Job).where(Job.id == job.id).values(**values))
    response = live.client.get(f"/api/jobs/{job.id}/poses/1/interactions")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


def test_depiction_is_an_rdkit_svg(live):
    response = live.client.get("/api/depict.svg", params={"smiles": "NC(=O)c1ccccc1", "width": 200})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert "<svg" in response.text
    assert "width='200px'" in response.text


def test_a_bad_smiles_is_a_field_error(live):
    response = live.client.get("/api/depict.svg", params={"smiles": "C1CC(("})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "smiles"


def read_events(url: str, headers: dict, seconds: float) -> list[tuple[str, dict]]:
    """The (id, job) of each ``job`` event the stream sends within ``seconds``."""
    events, current = [], {}
    deadline = time.monotonic() + seconds
    try:
        with httpx.stream(
            "GET", url, headers=headers, timeout=httpx.Timeout(5, read=1)
        ) as response:
            for line in response.iter_lines():
                if line.startswith("id: "):
                    current["id"] = line[4:]
                elif line.startswith("data: "):
                    events.append((current.get("id"), json.loads(line[6:])))
                if time.monotonic() > deadline:
                    break
    except httpx.ReadTimeout:
        pass  # nothing more to send
    return events


def test_a_change_committed_late_is_sent_after_a_reconnect(live):
    """A writer stamped a change just before the browser's last event id but committed it
    after that event was sent: the resumed stream still sends it."""
    store = live.store
    late = store.create_job(kind="dock", name="late", params=PARAMS)
    old = store.create_job(kind="dock", name="old", params=PARAMS)
    last_event = utcnow()
    for job_id, age in ((late.id, 1.0), (old.id, 30.0)):
        stamp = last_event - timedelta(seconds=age)
        values = {"status": JobStatus.FAILED, "stage": "failed", "attempt": 5, "updated_at": stamp}
        with store.session() as session, session.begin():
            session.execute(update(Job).where(Job.id == job_id).values(**values))
    events = read_events(
        f"{live.url}/api/events",
        {"Last-Event-ID": last_event.isoformat()},
        seconds=2.0,
    )
    sent = [job["id"] for _id, job in events]
    assert late.id in sent
    assert old.id not in sent
    assert sent.count(late.id) == 1
