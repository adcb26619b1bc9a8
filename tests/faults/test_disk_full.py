"""The data disk full under a running server: submissions are refused with 507, reads go on,
the running job waits to write its result, nothing is corrupted, and all resumes with space."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.chem.core.progress import bar_progress
from dockyard.config import Settings
from dockyard.jobs.live_progress import output_path
from dockyard.jobs.store import Claim
from tests.conftest import LiveServer
from tests.scale.conftest import (
    MEDIUM_JOB,
    assert_each_completed_once,
    wait_finished,
    wait_until,
)
from tests.scale.test_failures import docking_on

DISK = "32m"
"""Room for the database of a few jobs (the receptor of each is stored with it)."""


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A data directory on a tmpfs of its own, which a test can fill without harm."""
    directory = tmp_path / "data"
    directory.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK}", "tmpfs", str(directory)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "--lazy", str(directory)], check=False)


def fill(directory: Path) -> Path:
    """Write a file until the disk refuses one more byte."""
    filler = directory / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    os.write(descriptor, b"\0" * size)
            except OSError as error:
                assert error.errno == errno.ENOSPC, error
    finally:
        os.close(descriptor)
    return filler


def test_a_full_disk_refuses_work_and_loses_nothing(small_disk, small_job):
    settings = Settings(data_dir=small_disk, workers=1)
    database = small_disk / "dockyard.db"
    with LiveServer(settings) as live:
        fields, files = small_job()
        earlier = [live.submit(files, **fields).json()["job_id"] for _ in range(2)]
        wait_finished(live.client, earlier, timeout=120)
        poses = {i: live.client.get(f"/api/jobs/{i}/poses.sdf").content for i in earlier}
        running = live.submit(files, **{**fields, **MEDIUM_JOB}).json()["job_id"]
        docking_on(live.client, running)

        # Fold the write-ahead log into the database first, so no room is left in it either.
        with sqlite3.connect(database, timeout=30) as connection:
            assert connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
        filler = fill(small_disk)
        try:
            refused = live.submit(files, **fields)
            assert refused.status_code == 507, refused.text
            assert int(refused.headers["Retry-After"]) > 0
            error = refused.json()["error"]
            assert error["code"] == "storage_full", error
            assert "disk is full" in error["message"] and "Free space" in error["message"]
            listed = live.client.get("/api/jobs")
            assert listed.status_code == 200, listed.text  # reading needs no space
            assert live.client.post(f"/api/jobs/{earlier[0]}/cancel").status_code == 409

            # The docking ends meanwhile (Vina's bar reaches its end); its result waits for space.
            bar = output_path(live.store, Claim(running, 1, 0.0))
            wait_until(lambda: bar_progress(bar.read_text(errors="replace")) == 1.0, 60, "Vina")
            time.sleep(3)
            job = live.client.get(f"/api/jobs/{running}").json()
            assert (job["status"], job["attempt"]) == ("running", 1), job
        finally:
            filler.unlink()

        later = live.submit(files, **fields)
        assert later.status_code == 201, later.text
        ids = [*earlier, running, later.json()["job_id"]]
        jobs = wait_finished(live.client, ids, timeout=120)
        assert [job["attempt"] for job in jobs] == [1] * len(ids)
        assert_each_completed_once(live.store, ids)
        for job_id, content in poses.items():
            assert live.client.get(f"/api/jobs/{job_id}/poses.sdf").content == content
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        count = connection.execute("SELECT count(*) FROM jobs").fetchone()[0]
    assert count == len(ids)
