"""The one supervision every runner shares, on real processes and a real SQLite store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dockyard.jobs.models import JobStatus
from dockyard.jobs.store import Store
from dockyard.runners import LocalRunner
from dockyard.runners.child import EXIT_DATABASE_LOST
from dockyard.runners.supervise import JobProcess, record_exit
from tests.runners.test_local_runner import is_alive


@pytest.fixture
def store(tmp_path: Path):
    store = Store.open(f"sqlite:///{tmp_path / 'jobs.db'}")
    yield store
    store.close()


def _sleep_with_a_grandchild(pid_file: str) -> None:
    grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    Path(pid_file).write_text(str(grandchild.pid))
    time.sleep(60)


def test_kill_takes_the_whole_process_group(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    process = JobProcess(_sleep_with_a_grandchild, (str(pid_file),), name="t", time_limit=0.2)
    pid = process.start()
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the child never started its own child"
        time.sleep(0.05)
    grandchild = int(pid_file.read_text())
    assert os.getpgid(pid) == pid and os.getpgid(grandchild) == pid
    assert process.wait(0.3) is None and process.over_time_limit()

    process.kill()
    assert process.poll() == -signal.SIGKILL
    deadline = time.monotonic() + 5
    while is_alive(grandchild):
        assert time.monotonic() < deadline, "the grandchild outlived its group"
        time.sleep(0.05)
    process.close()
    process.close()  # a second close (a runner's `finally`) is harmless
    assert process.poll() == -signal.SIGKILL


@pytest.mark.parametrize(
    ("exit_status", "status", "message"),
    [
        (-signal.SIGKILL, JobStatus.PENDING, "killed by SIGKILL"),
        (3, JobStatus.FAILED, "exited with code 3"),
        (EXIT_DATABASE_LOST, JobStatus.PENDING, "lost the job database"),
        (0, JobStatus.FAILED, "ended without a result"),
    ],
)
def test_record_exit_names_what_ended_the_process(store, exit_status, status, message):
    job = store.create_job(kind="dock", name="j", params={})
    claim = store.claim(job.id, "here:1", lease_seconds=30)
    record_exit(store, claim, exit_status)
    job = store.get_job(job.id)
    assert job.status == status
    assert message in (job.stage if status == JobStatus.PENDING else job.error)


def test_the_local_runner_is_its_one_worker(store):
    runner = LocalRunner(store, str(store.engine.url), workers=2)
    [worker] = runner.workers()
    assert worker.name == runner.name and worker.pid == os.getpid()
    assert worker.state == "idle"
