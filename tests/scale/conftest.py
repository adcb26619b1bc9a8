"""Real servers for the scale-out tests: a private Redis per test, PostgreSQL, worker processes.

Each test starts its own ``redis-server`` on a free port (so stopping, restarting or flushing
it disturbs nobody else) and a fresh PostgreSQL database (``postgres_url``). Workers are real
``dockyard worker`` processes; the API is the real app, in a thread or as ``dockyard serve``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis import Redis
from redis.exceptions import RedisError

from dockyard.config import Settings
from dockyard.jobs.models import Job, JobFile
from dockyard.jobs.store import Store
from tests.conftest import _free_port

# Short enough that a killed worker's job is retried within seconds.
FAST_RECOVERY = {"lease_seconds": 3.0, "reconcile_seconds": 1.0, "retry_backoff": 0.5}
IMATINIB = "Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1"
# Imatinib in the small box at exhaustiveness 1: a few seconds inside Vina, long enough to kill.
MEDIUM_JOB = {"smiles": IMATINIB, "exhaustiveness": "1", "num_poses": "3", "seed": "7"}
# A minute or more: only ever cancelled or handed back, never waited for.
LONG_JOB = {
    "smiles": IMATINIB, "exhaustiveness": "8",
    "size_x": "20", "size_y": "20", "size_z": "20",
}  # fmt: skip


class RedisServer:
    """A ``redis-server`` of our own, without persistence: a restart starts it empty."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed; run scripts/services.sh first.")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client().ping()
                return self
            except RedisError:
                assert self.process.poll() is None, "redis-server exited"
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def client(self) -> Redis:
        return Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=5)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def scale_settings(tmp_path: Path, postgres_url: str, redis_server: RedisServer) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=postgres_url,
        redis_url=redis_server.url,
        max_attempts=3,
        **FAST_RECOVERY,
    )


def settings_env(settings: Settings) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DOCKYARD_")}
    for name in (
        "data_dir",
        "database_url",
        "redis_url",
        "max_attempts",
        "job_time_limit",
        "lease_seconds",
        "reconcile_seconds",
        "retry_backoff",
        "worker_cpu",
        "queue",
    ):
        env[f"DOCKYARD_{name.upper()}"] = str(getattr(settings, name))  # fmt: skip
    return env


class WorkerProcess:
    """One real ``dockyard worker``; its log goes to a file in the test's directory."""

    def __init__(self, settings: Settings, log_path: Path, *args: str):
        self.log_path = log_path
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dockyard", "worker", *args],
            env=settings_env(settings),
            stdout=log_path.open("wb"),
            stderr=subprocess.STDOUT,
        )
        self.pid = self.process.pid
        self.name = f"{socket.gethostname()}:{self.pid}"

    def wait_registered(self, redis: RedisServer, timeout: float = 60) -> WorkerProcess:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if redis.client().sismember("rq:workers", f"rq:worker:{self.name}"):
                    return self
            except RedisError:
                pass
            assert self.process.poll() is None, f"worker exited:\n{self.log()}"
            assert time.monotonic() < deadline, f"worker did not register:\n{self.log()}"
            time.sleep(0.1)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def start_worker(tmp_path: Path, redis_server: RedisServer) -> Iterator:
    started: list[WorkerProcess] = []

    def start(settings: Settings, *args: str) -> WorkerProcess:
        worker = WorkerProcess(settings, tmp_path / f"worker-{len(started)}.log", *args)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def is_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def job_pid(job: dict) -> int:
    """The pid of the job's own process, from its ``worker`` field (``host:pid:child_pid``)."""
    return int(job["worker"].rsplit(":", 1)[1])


def wait_until(check, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(interval)


def get_jobs(client: httpx.Client, ids: list[int]) -> list[dict]:
    return [client.get(f"/api/jobs/{job_id}").json() for job_id in ids]


def wait_finished(client: httpx.Client, ids: list[int], timeout: float) -> list[dict]:
    """Wait until every job is completed; fail at once if one fails or is cancelled."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = get_jobs(client, ids)
        if all(job["status"] == "completed" for job in jobs):
            return jobs
        bad = [job for job in jobs if job["status"] in ("failed", "cancelled")]
        assert not bad, [(job["id"], job["status"], job["error"]) for job in bad]
        pending = [(job["id"], job["status"], job["stage"]) for job in jobs]
        assert time.monotonic() < deadline, pending
        time.sleep(0.25)


def assert_each_completed_once(store: Store, ids: list[int]) -> None:
    """Completed, with the provenance of the attempt that completed, and one set of outputs.

    ``complete`` is fenced by the attempt, so a second writer could only have landed by
    overwriting the row: the finishing times must not move afterwards either.
    """
    with store.session() as session:
        rows = {job.id: job for job in session.query(Job).filter(Job.id.in_(ids))}
        outputs = session.query(JobFile.job_id, JobFile.name).filter(
            JobFile.job_id.in_(ids), JobFile.role == "output"
        )
        names: dict[int, list[str]] = {}
        for job_id, name in outputs:
            names.setdefault(job_id, []).append(name)
    assert sorted(rows) == sorted(ids)
    for job_id, job in rows.items():
        assert job.status == "completed", (job_id, job.status, job.error)
        assert job.provenance["attempt"] == job.attempt, (job_id, job.provenance, job.attempt)
        assert "poses.sdf" in names[job_id], names
        assert len(names[job_id]) == len(set(names[job_id])), names  # one row per output
    finished = {job_id: job.finished_at for job_id, job in rows.items()}
    time.sleep(FAST_RECOVERY["lease_seconds"] + 1)
    with store.session() as session:
        again = {job.id: job.finished_at for job in session.query(Job).filter(Job.id.in_(ids))}
    assert again == finished, "a job was written again after it completed"
