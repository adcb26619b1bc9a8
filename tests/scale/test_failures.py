"""RQ workers, Redis and the API failing for real: no job lost, none completed twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from rq.command import send_stop_job_command

from dockyard.chem.core.progress import DOCKING_PROGRESS
from dockyard.jobs.store import Store
from dockyard.runners.rq.queue import rq_job_id
from tests.conftest import SMALL_BOX, LiveServer, _free_port
from tests.scale.conftest import (
    LONG_JOB,
    MEDIUM_JOB,
    assert_each_completed_once,
    get_jobs,
    is_alive,
    job_pid,
    settings_env,
    wait_finished,
    wait_until,
)

pytestmark = pytest.mark.postgres


def docking_on(client: httpx.Client, job_id: int, timeout: float = 60) -> dict:
    """Wait until the job is inside Vina on some worker's job process."""

    def check():
        job = client.get(f"/api/jobs/{job_id}").json()
        inside = job["stage"] == "docking" and job["worker"] and job["worker"].count(":") == 2
        return job if inside else None

    return wait_until(check, timeout, f"job {job_id} docking", interval=0.05)


def test_a_killed_worker_loses_no_job_and_runs_none_twice(
    scale_settings, redis_server, start_worker, small_job
):
    workers = [start_worker(scale_settings), start_worker(scale_settings)]
    for worker in workers:
        worker.wait_registered(redis_server)
    with LiveServer(scale_settings) as live:
        fields, files = small_job()
        ids = [live.submit(files, **{**fields, **MEDIUM_JOB}).json()["job_id"]]
        ids += [live.submit(files, **fields).json()["job_id"] for _ in range(19)]

        running = docking_on(live.client, ids[0])
        victim = next(w for w in workers if running["worker"].startswith(f"{w.name}:"))
        orphan = job_pid(running)
        with open(f"/proc/{orphan}/stat") as stat:
            horse = int(stat.read().rsplit(")", 1)[1].split()[1])  # the docking's parent
        assert horse not in (victim.pid, orphan)
        status = live.client.get("/api/workers").json()
        busy = {w["name"]: [job["id"] for job in w["jobs"]] for w in status["workers"]}
        assert busy[victim.name] == [ids[0]]

        victim.kill(signal.SIGKILL)
        wait_until(lambda: not is_alive(orphan), 5, "the killed worker's job process to die")
        wait_until(lambda: not is_alive(horse), 5, "the killed worker's work-horse to die")
        workers.append(start_worker(scale_settings))  # as a restart policy would

        jobs = wait_finished(live.client, ids, timeout=150)
        assert jobs[0]["attempt"] == 2, jobs[0]  # killed once, run again once
        assert [job["attempt"] for job in jobs[1:]] == [1] * 19
        assert {job["worker"].rsplit(":", 1)[0] for job in jobs} <= {w.name for w in workers}
        assert jobs[0]["worker"].rsplit(":", 1)[0] != victim.name
        assert_each_completed_once(live.store, ids)
        assert not is_alive(orphan) and not is_alive(horse)


def test_redis_stopped_restarted_and_flushed_mid_run(
    scale_settings, redis_server, start_worker, small_job
):
    start_worker(scale_settings).wait_registered(redis_server)
    with LiveServer(scale_settings) as live:
        fields, files = small_job()
        ids = [live.submit(files, **fields).json()["job_id"] for _ in range(6)]
        wait_until(
            lambda: any(j["status"] == "completed" for j in get_jobs(live.client, ids)),
            60,
            "a first job to complete",
        )

        redis_server.stop()
        response = live.submit(files, **fields)  # the API keeps taking jobs meanwhile
        assert response.status_code == 201, response.text
        ids.append(response.json()["job_id"])
        assert live.client.get("/api/health").status_code == 503
        time.sleep(2)
        redis_server.start()  # empty: it kept nothing

        wait_finished(live.client, ids, timeout=120)

        more = [live.submit(files, **fields).json()["job_id"] for _ in range(6)]
        wait_until(
            lambda: any(j["status"] == "completed" for j in get_jobs(live.client, more)),
            60,
            "a job after the restart to complete",
        )
        redis_server.client().flushall()
        wait_finished(live.client, ids + more, timeout=120)
        assert_each_completed_once(live.store, ids + more)
        assert live.client.get("/api/health").status_code == 200


def test_cancel_stop_command_and_sigterm_on_a_worker(
    scale_settings, redis_server, start_worker, small_job
):
    worker = start_worker(scale_settings).wait_registered(redis_server)
    with LiveServer(scale_settings) as live:
        fields, files = small_job()
        job_id = live.submit(files, **{**fields, **LONG_JOB}).json()["job_id"]
        pid = job_pid(docking_on(live.client, job_id))
        # The work-horse reads Vina's progress bar while Vina holds the job process's GIL.
        moving = wait_until(
            lambda: (j := live.client.get(f"/api/jobs/{job_id}").json())["progress"]
            > DOCKING_PROGRESS[0] and j,
            60, "the progress to move during the docking",
        )  # fmt: skip
        assert moving["stage"] == "docking" and moving["status"] == "running", moving

        cancelled_at = time.monotonic()
        assert live.client.post(f"/api/jobs/{job_id}/cancel").status_code == 200
        while is_alive(pid):
            assert time.monotonic() - cancelled_at < 5, "the docking outlived its cancel"
            time.sleep(0.05)
        time.sleep(1.5)
        job = live.client.get(f"/api/jobs/{job_id}").json()
        assert job["status"] == "cancelled" and job["results"] is None

        # An RQ stop command kills the horse; the stop callback writes the outcome.
        job_id = live.submit(files, **{**fields, **LONG_JOB}).json()["job_id"]
        pid = job_pid(docking_on(live.client, job_id))
        send_stop_job_command(redis_server.client(), rq_job_id(job_id, 1))
        job = live.wait(job_id, timeout=10)
        assert job["status"] == "failed" and "RQ stop command" in job["error"], job
        wait_until(lambda: not is_alive(pid), 5, "the stopped job's process to die")

        # A docking killed by a signal runs again, after its back-off, as the next attempt.
        job_id = live.submit(files, **{**fields, **LONG_JOB}).json()["job_id"]
        os.kill(job_pid(docking_on(live.client, job_id)), signal.SIGKILL)
        job = wait_until(
            lambda: (j := live.client.get(f"/api/jobs/{job_id}").json())["attempt"] == 2 and j,
            30,
            "the second attempt",
        )
        assert job["status"] == "running", job
        assert live.client.post(f"/api/jobs/{job_id}/cancel").status_code == 200

        # The worker goes on to the next job; SIGTERM then hands it back without using a try.
        job_id = live.submit(files, **{**fields, **LONG_JOB}).json()["job_id"]
        pid = job_pid(docking_on(live.client, job_id))
        worker.kill(signal.SIGTERM)
        assert worker.process.wait(timeout=20) == 0, worker.log()
        assert not is_alive(pid)
        job = live.client.get(f"/api/jobs/{job_id}").json()
        assert job["status"] == "pending", job
        assert job["stage"] == "queued again: the server stopped"
        assert (job["attempt"], job["max_attempts"]) == (1, scale_settings.max_attempts + 1)
        assert live.client.post(f"/api/jobs/{job_id}/cancel").status_code == 200


def serve(settings, port: int, log_path) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "dockyard", "serve", "--port", str(port)],
        env=settings_env(settings),
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/api/health"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url, timeout=1)
            return process
        except httpx.HTTPError:
            assert process.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "dockyard serve did not start"
            time.sleep(0.2)


def test_api_killed_and_restarted_while_workers_run(
    tmp_path, scale_settings, redis_server, start_worker, small_job, receptor_pdbqt
):
    """Jobs and a screen's chunks go on while the API is down; the rows it never queued too."""
    start_worker(scale_settings).wait_registered(redis_server)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"
    fields, files = small_job()
    api = serve(scale_settings, port, log_path)
    try:
        ids = [httpx.post(f"{url}/api/jobs", data=fields, files=files).json()["job_id"]
               for _ in range(4)]  # fmt: skip
        smiles = ["NC(=O)c1ccccc1", "Oc1ccccc1", "c1ccncc1", "Nc1ccccc1", "CC(=O)c1ccccc1"]
        library = "".join(f"{s} lig{i}\n" for i, s in enumerate(smiles)).encode()
        screen = httpx.post(
            f"{url}/api/screens",
            data={**SMALL_BOX, "exhaustiveness": "1", "num_poses": "1", "chunk_size": "2"},
            files={"receptor": ("1iep.pdbqt", receptor_pdbqt), "library": ("lib.smi", library)},
        )
        assert screen.status_code == 201, screen.text
        screen_id = screen.json()["job_id"]
    finally:
        api.send_signal(signal.SIGKILL)
        api.wait()

    # A job the API wrote but died before queueing: only the database knows about it.
    store = Store.open(scale_settings.resolved_database_url, migrate_schema=False)
    try:
        template = store.get_job(ids[0])
        files_in = [store.read_file(ids[0], name) for name, role, _ in
                    store.list_files(ids[0]) if role == "input"]  # fmt: skip
        orphan = store.create_job(kind="dock", name="never queued", params=template.params,
                                  files=files_in, max_attempts=3).id  # fmt: skip
        ids.append(orphan)
        # Workers go on while the API is down.
        wait_until(
            lambda: sum(store.get_job(i).status == "completed" for i in ids) >= 2,
            90,
            "jobs to complete with the API down",
        )
    finally:
        store.close()

    api = serve(scale_settings, port, log_path)
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            wait_finished(client, [*ids, screen_id], timeout=150)
            counts = client.get(f"/api/screens/{screen_id}").json()["counts"]
            assert (counts["completed"], counts["failed"]) == (5, 0), counts
            ligands = client.get(f"/api/screens/{screen_id}/ligands", params={"limit": 50}).json()
            assert len(ligands["ligands"]) == 5
        store = Store.open(scale_settings.resolved_database_url, migrate_schema=False)
        try:
            assert_each_completed_once(store, ids)
        finally:
            store.close()
    finally:
        api.send_signal(signal.SIGTERM)
        api.wait(timeout=30)
