"""The local runner, with real processes killed for real."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from dockyard.chem.core.progress import DOCKING_PROGRESS
from dockyard.cli.serve import SHUTDOWN_GRACE_SECONDS
from dockyard.config import Settings
from dockyard.jobs.live_progress import output_path
from dockyard.jobs.store import Claim
from tests.conftest import SMALL_BOX, LiveServer, _free_port

IMATINIB = "Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1"
# Imatinib in a 20 Å box at exhaustiveness 8 docks for a minute or two: long enough to kill.
LONG_JOB = {
    "smiles": IMATINIB,
    "center_x": "15.19", "center_y": "53.90", "center_z": "16.92",
    "size_x": "20", "size_y": "20", "size_z": "20",
    "exhaustiveness": "8",
}  # fmt: skip


def child_pid(job: dict) -> int:
    return int(job["worker"].rsplit(":", 1)[1])


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def wait_docking(live: LiveServer, job_id: int) -> dict:
    """Wait until the job is inside Vina's dock() (the GIL-holding part)."""
    job = live.wait(job_id, statuses=("running",))
    deadline = time.monotonic() + 60
    while job["stage"] != "docking" or not job["worker"] or job["worker"].count(":") < 2:
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
        job = live.client.get(f"/api/jobs/{job_id}").json()
    return job


@pytest.fixture
def live(tmp_path: Path, receptor_pdbqt: bytes):
    settings = Settings(data_dir=tmp_path, workers=1, max_attempts=2)
    with LiveServer(settings) as server:
        server.receptor = {"receptor": ("1iep.pdbqt", receptor_pdbqt)}
        yield server


def test_cancel_kills_a_running_job_within_five_seconds(live):
    job_id = live.submit(dict(live.receptor), **LONG_JOB).json()["job_id"]
    pid = child_pid(wait_docking(live, job_id))

    cancelled_at = time.monotonic()
    assert live.client.post(f"/api/jobs/{job_id}/cancel").status_code == 200
    while is_alive(pid):
        assert time.monotonic() - cancelled_at < 5, "the docking process outlived its cancel"
        time.sleep(0.05)

    time.sleep(1.5)
    job = live.client.get(f"/api/jobs/{job_id}").json()
    assert job["status"] == "cancelled"
    assert job["results"] is None


def test_progress_rises_while_vina_docks(live):
    """Vina holds the job's GIL; the runner reads Vina's progress bar and writes the progress."""
    job_id = live.submit(dict(live.receptor), **LONG_JOB).json()["job_id"]
    wait_docking(live, job_id)
    seen = []
    deadline = time.monotonic() + 60
    while len({progress for stage, progress in seen if stage == "docking"}) < 3:
        assert time.monotonic() < deadline, seen
        job = live.client.get(f"/api/jobs/{job_id}").json()
        assert job["status"] == "running", job
        seen.append((job["stage"], job["progress"]))
        time.sleep(0.2)
    progress = [value for stage, value in seen if stage == "docking"]
    assert progress == sorted(progress), seen
    assert DOCKING_PROGRESS[0] < progress[-1] < DOCKING_PROGRESS[1], seen
    live.client.post(f"/api/jobs/{job_id}/cancel")
    assert live.wait(job_id)["status"] == "cancelled"
    folder = output_path(live.app.state.store, Claim(job_id, 1, 0)).parent
    deadline = time.monotonic() + 5
    while list(folder.glob(f"job-{job_id}-*")):
        assert time.monotonic() < deadline, "the job's output file outlived it"
        time.sleep(0.1)


def wait_for(live: LiveServer, job_id: int, condition, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = live.client.get(f"/api/jobs/{job_id}").json()
        if condition(job):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def test_child_killed_by_signal_is_queued_again(live):
    job_id = live.submit(dict(live.receptor), **LONG_JOB).json()["job_id"]
    os.kill(child_pid(wait_docking(live, job_id)), signal.SIGKILL)

    job = wait_for(live, job_id, lambda job: job["attempt"] == 2 or job["status"] != "running")
    assert job["attempt"] == 2 and job["status"] in ("pending", "running"), job
    # The second attempt runs; cancel it to keep the test short.
    live.client.post(f"/api/jobs/{job_id}/cancel")
    assert live.wait(job_id)["status"] == "cancelled"


def test_child_killed_on_every_attempt_fails_naming_the_signal(live):
    job_id = live.submit(dict(live.receptor), **LONG_JOB).json()["job_id"]
    for attempt in (1, 2):
        job = wait_docking(live, job_id)
        assert job["attempt"] == attempt
        os.kill(child_pid(job), signal.SIGKILL)
        wait_for(
            live, job_id, lambda job, n=attempt: job["attempt"] > n or job["status"] == "failed"
        )
    job = live.wait(job_id)
    assert job["status"] == "failed"
    assert "SIGKILL" in job["error"] and "2 attempts" in job["error"]


def test_time_limit_kills_and_fails(tmp_path, receptor_pdbqt):
    settings = Settings(data_dir=tmp_path, workers=1, job_time_limit=3)
    with LiveServer(settings) as live:
        files = {"receptor": ("1iep.pdbqt", receptor_pdbqt)}
        job_id = live.submit(files, **LONG_JOB).json()["job_id"]
        job = live.wait(job_id, timeout=60)
        assert job["status"] == "failed"
        assert "time limit of 3 s" in job["error"]
        assert not is_alive(child_pid(job))


def serve(data_dir: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "dockyard", "serve", "--port", str(port),
         "--data-dir", str(data_dir), "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
            return process
        except httpx.HTTPError:
            assert process.poll() is None, "dockyard serve exited"
            assert time.monotonic() < deadline, "dockyard serve did not start"
            time.sleep(0.2)


def test_server_killed_and_restarted_loses_nothing(tmp_path, receptor_pdbqt):
    """SIGKILL the whole server with jobs queued and running: all complete after a restart."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    files = {"receptor": ("1iep.pdbqt", receptor_pdbqt)}
    server = serve(tmp_path, port)
    try:
        long_id = httpx.post(
            f"{url}/api/jobs", data={**LONG_JOB, "exhaustiveness": "2"}, files=files
        ).json()["job_id"]
        short_ids = [
            httpx.post(
                f"{url}/api/jobs",
                data={**SMALL_BOX, "smiles": smiles, "exhaustiveness": "1", "seed": "7"},
                files=files,
            ).json()["job_id"]
            for smiles in (
                "NC(=O)c1ccccc1",
                "Oc1ccccc1",
                "c1ccc2ccccc2c1",
                "CC(=O)Nc1ccccc1",
                "Cc1ccccc1O",
            )
        ]
        deadline = time.monotonic() + 60
        while True:
            job = httpx.get(f"{url}/api/jobs/{long_id}").json()
            if job["stage"] == "docking" and job["worker"].count(":") == 2:
                break
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
        orphan = child_pid(job)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()

    deadline = time.monotonic() + 10
    while is_alive(orphan):
        assert time.monotonic() < deadline, "a docking outlived its killed server"
        time.sleep(0.1)

    server = serve(tmp_path, port)
    try:
        ids = [long_id, *short_ids]
        deadline = time.monotonic() + 240
        while True:
            jobs = [httpx.get(f"{url}/api/jobs/{job_id}").json() for job_id in ids]
            if all(job["status"] == "completed" for job in jobs):
                break
            assert not any(job["status"] in ("failed", "cancelled") for job in jobs), jobs
            assert time.monotonic() < deadline, jobs
            time.sleep(0.5)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    long_job = jobs[0]
    assert long_job["attempt"] == 2
    assert long_job["provenance"]["attempt"] == 2
    assert all(job["provenance"]["attempt"] == job["attempt"] for job in jobs)


def test_a_stopping_server_does_not_wait_for_its_open_live_streams(tmp_path):
    """SIGTERM with pages following /api/events: the server cuts them after its grace and
    stops (their browsers reconnect), rather than waiting out every stream's five minutes."""
    port = _free_port()
    server = serve(tmp_path, port)
    streams = []
    try:
        for _ in range(3):
            stream = socket.create_connection(("127.0.0.1", port), timeout=10)
            stream.sendall(b"GET /api/events HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            assert stream.recv(64).startswith(b"HTTP/1.1 200")
            streams.append(stream)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=SHUTDOWN_GRACE_SECONDS + 30) in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        for stream in streams:
            stream.close()
