"""Schemathesis fuzzes every operation of ``/openapi.json`` against a live server and finds
nothing: no 500, no answer the schema does not document, no schema-valid request refused by
anything but the chemistry, no invalid one accepted, every 405 with its ``Allow``.

It runs as an admin with an API token (a server that has users: every route behind the gate).
The seed and the example count are in ``schemathesis.toml`` beside this file; one completed
docking is there before the run, so the job routes meet a real job. The server runs
jobs for 15 seconds at most and ends live streams after one, so nothing fuzzed can keep it
busy; afterwards no job is left pending or running and it still answers at once.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from dockyard.config import Settings
from tests.conftest import LiveServer

CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.fixture
def fuzzed_server(tmp_path: Path, database_url: str):
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        workers=1,
        max_upload_mb=1,
        job_time_limit=15,
        max_attempts=1,
        events_max_seconds=1,
    )
    with LiveServer(settings) as live:
        yield live


def test_schemathesis_finds_no_failure(fuzzed_server: LiveServer, small_job, tmp_path: Path):
    admin = fuzzed_server.store.accounts.add_user("fuzz", "pw-fuzz", role="admin")
    _, token = fuzzed_server.store.accounts.create_token(admin.id, "fuzz")
    fuzzed_server.client.headers["Authorization"] = f"Bearer {token}"
    fields, files = small_job()
    seeded = fuzzed_server.submit(files, **fields).json()["job_id"]
    assert seeded == 1  # the id schemathesis.toml names
    assert fuzzed_server.wait(seeded)["status"] == "completed"
    command = [
        sys.executable, "-m", "schemathesis.cli",
        "--config-file", str(CONFIG),
        "run", f"{fuzzed_server.url}/openapi.json",
        "--checks", "all",
        "--header", f"Authorization: Bearer {token}",
        "--report", "junit", "--report-dir", str(tmp_path / "reports"),
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=tmp_path)

    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in run.stdout.rpartition("SUMMARY")[2], run.stdout[-3000:]
    for job in fuzzed_server.client.get("/api/jobs", params={"limit": 500}).json()["jobs"]:
        fuzzed_server.wait(job["id"], timeout=30)
    started = time.monotonic()
    assert fuzzed_server.client.get("/api/health").status_code == 200
    assert time.monotonic() - started < 0.1
