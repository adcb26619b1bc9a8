"""The REST API over real HTTP, against SQLite and PostgreSQL, with real dockings.

The tests share a server and look only at the jobs they made; the one that lists every job
has a server of its own.
"""

from __future__ import annotations

import csv
import io

from dockyard.chem import AutoEffort


def test_submit_dock_and_download(shared_server, small_job):
    fields, files = small_job(name="benzamide")
    response = shared_server.submit(files, **fields)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "pending"
    assert response.headers["location"] == f"/api/jobs/{created['job_id']}"

    job = shared_server.wait(created["job_id"])
    assert job["status"] == "completed", job["error"]
    assert job["name"] == "benzamide"
    assert job["progress"] == 1.0
    assert job["created_at"] <= job["started_at"] <= job["finished_at"]
    poses = job["results"]["poses"]
    assert 1 <= len(poses) <= 3
    assert [pose["rank"] for pose in poses] == list(range(1, len(poses) + 1))
    assert poses == sorted(poses, key=lambda pose: pose["affinity"])
    assert job["best_score"] == poses[0]["affinity"] < 0
    assert job["provenance"]["seed"] == 42
    assert {"vina", "meeko", "rdkit", "dockyard"} <= set(job["provenance"])
    assert job["params"]["exhaustiveness"] == 1

    sdf = shared_server.client.get(f"/api/jobs/{job['id']}/poses.sdf")
    assert sdf.status_code == 200
    assert sdf.text.count("$$$$") == len(poses)
    pdbqt = shared_server.client.get(f"/api/jobs/{job['id']}/poses.pdbqt")
    assert pdbqt.text.count("MODEL") == len(poses)
    table = list(
        csv.DictReader(
            io.StringIO(shared_server.client.get(f"/api/jobs/{job['id']}/results.csv").text)
        )
    )
    assert [float(row["affinity"]) for row in table] == [pose["affinity"] for pose in poses]

    legacy = shared_server.client.get(f"/api/status/{job['id']}").json()
    assert legacy == {
        "job_id": job["id"],
        "status": "completed",
        "message": "completed",
        "results": {
            "scores": [pose["affinity"] for pose in poses],
            "best_score": poses[0]["affinity"],
            "num_poses": len(poses),
            "output_file": f"/api/jobs/{job['id']}/poses.pdbqt",
        },
    }


def test_raw_pdb_receptor_and_box_around_reference_ligand(
    shared_server, receptor_pdb, imatinib_sdf
):
    files = {
        "receptor": ("1iep_receptorH.pdb", receptor_pdb),
        "reference_ligand": ("1iep_ligand.sdf", imatinib_sdf),
    }
    response = shared_server.submit(
        files, smiles="c1ccc2[nH]ccc2c1", padding="2", exhaustiveness="1"
    )
    assert response.status_code == 201, response.text
    job = shared_server.wait(response.json()["job_id"])
    assert job["status"] == "completed", job["error"]
    assert job["params"]["box_source"] == "reference_ligand"
    assert abs(job["params"]["box"]["center_x"] - 15.6) < 2.5
    assert job["results"]["receptor_report"]
    receptor = shared_server.client.get(f"/api/jobs/{job['id']}/receptor.pdbqt")
    assert receptor.status_code == 200 and "ATOM" in receptor.text


def test_list_is_newest_first_with_cursor_and_filter(server, small_job):
    ids = []
    for _ in range(5):
        fields, files = small_job()
        ids.append(server.submit(files, **fields).json()["job_id"])
    server.client.post(f"/api/jobs/{ids[2]}/cancel")

    first = server.client.get("/api/jobs", params={"limit": 2}).json()
    assert [job["id"] for job in first["jobs"]] == ids[::-1][:2]
    second = server.client.get("/api/jobs", params={"limit": 2, "before": first["next_before"]})
    assert [job["id"] for job in second.json()["jobs"]] == ids[::-1][2:4]
    cancelled = server.client.get("/api/jobs", params={"status": "cancelled"}).json()
    assert [job["id"] for job in cancelled["jobs"]] == [ids[2]]
    for job_id in ids:
        server.wait(job_id)


def test_cancel_delete_and_conflicts(shared_server, small_job):
    fields, files = small_job()
    job_id = shared_server.submit(files, **fields).json()["job_id"]
    job = shared_server.wait(job_id)
    again = shared_server.client.post(f"/api/jobs/{job_id}/cancel")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"

    assert shared_server.client.delete(f"/api/jobs/{job_id}").status_code == 204
    missing = shared_server.client.get(f"/api/jobs/{job['id']}")
    assert missing.status_code == 404
    assert missing.json()["error"]["field"] == "job_id"
    assert shared_server.client.get(f"/api/jobs/{job_id}/poses.sdf").status_code == 404
    assert shared_server.client.delete(f"/api/jobs/{job_id}").status_code == 404


def test_downloads_wait_for_completion(shared_server, small_job):
    fields, files = small_job()
    job_id = shared_server.submit(files, **fields).json()["job_id"]
    shared_server.client.post(f"/api/jobs/{job_id}/cancel")
    response = shared_server.client.get(f"/api/jobs/{job_id}/poses.sdf")
    assert response.status_code == 409
    assert "cancelled" in response.json()["error"]["message"]


def test_health_and_openapi(shared_server):
    health = shared_server.client.get("/api/health").json()
    assert health["status"] == "ok"
    assert health["store"]["ok"] is True
    assert health["queue"]["kind"] == "local" and health["queue"]["alive"] is True
    schema = shared_server.client.get("/openapi.json").json()
    assert "/api/jobs" in schema["paths"] and "/api/status/{job_id}" in schema["paths"]
    assert shared_server.client.get("/docs").status_code == 200


def test_events_stream_reports_changes(shared_server, small_job):
    fields, files = small_job()
    with shared_server.client.stream(
        "GET", "/api/events", params={"since": "2000-01-01T00:00:00+00:00"}
    ) as stream:
        job_id = shared_server.submit(files, **fields).json()["job_id"]
        seen = []
        for line in stream.iter_lines():
            if line.startswith("data:") and f'"id":{job_id},' in line:
                seen.append(line)
                if '"status":"completed"' in line:
                    break
    assert any('"status":"pending"' in line or '"status":"running"' in line for line in seen)


def test_box_fields_are_one_set(shared_server, small_job, imatinib_sdf):
    fields, files = small_job()
    files["reference_ligand"] = ("ref.sdf", imatinib_sdf)
    response = shared_server.submit(files, **fields)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "reference_ligand"


def test_auto_effort_job_records_its_rounds_in_results_provenance_and_page(
    shared_server, small_job
):
    fields, files = small_job(name="auto", effort="auto")
    response = shared_server.submit(files, **fields)
    assert response.status_code == 201, response.text
    job = shared_server.wait(response.json()["job_id"])
    assert job["status"] == "completed", job["error"]
    assert job["params"]["effort"] == "auto"
    search = job["results"]["search"]
    assert search["effort"] == "auto" and search["rounds"] >= 2
    auto = AutoEffort()
    assert search["exhaustiveness_used"] == auto.round_exhaustiveness * search["rounds"]
    assert search["converged"] in (True, False) and search["ceiling"] == auto.ceiling
    assert job["provenance"]["search"] == search
    poses = job["results"]["poses"]
    assert poses == sorted(poses, key=lambda pose: pose["affinity"]) and len(poses) <= 3
    page = shared_server.client.get(f"/jobs/{job['id']}").text
    assert f"auto: {search['rounds']} rounds" in page
    assert "--effort auto" in page
