"""Who runs jobs, as ``GET /api/workers`` and the ``/status`` page show it.

What each worker is running comes from the database (the ``worker`` column of running jobs,
``host:pid:child_pid``), which is the truth; Redis adds which RQ workers are registered, their
state and heartbeats, and the queue's depth. With Redis down the page still shows the running
jobs and their workers, and says that the queue cannot be reached.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from dockyard.jobs.accounts import SINGLE_USER, Viewer
from dockyard.jobs.models import Job, JobStatus
from dockyard.jobs.store import Store
from dockyard.runners import Runner

RUNNING_LIMIT = 500


class RunningJob(BaseModel):
    id: int
    name: str
    kind: str
    attempt: int
    stage: str
    progress: float
    started_at: datetime | None
    pid: int | None


class WorkerInfo(BaseModel):
    name: str
    hostname: str | None = None
    pid: int | None = None
    state: str
    registered: bool
    """Whether the worker is registered in Redis (RQ) or is this server's own runner (local)."""
    queues: list[str] = []
    birth: datetime | None = None
    last_heartbeat: datetime | None = None
    successful_jobs: int | None = None
    failed_jobs: int | None = None
    rq_job: str | None = None
    jobs: list[RunningJob] = []


class QueueInfo(BaseModel):
    runner: str
    name: str | None = None
    redis: str | None = None
    reachable: bool
    error: str | None = None
    queued: int | None = None
    started: int | None = None
    failed: int | None = None
    reconciler: dict[str, Any] | None = None


class WorkersStatus(BaseModel):
    queue: QueueInfo
    jobs: dict[str, int]
    """Jobs by status, from the database."""
    workers: list[WorkerInfo]


def worker_name(worker: str | None) -> tuple[str, int | None]:
    """``host:pid:child_pid`` → (``host:pid``, child pid); other shapes are kept whole."""
    if not worker:
        return "unknown", None
    name, _, pid = worker.rpartition(":")
    if name.count(":") >= 1 and pid.isdigit():
        return name, int(pid)
    return worker, None


def running_by_worker(jobs: list[Job]) -> dict[str, list[RunningJob]]:
    grouped: dict[str, list[RunningJob]] = {}
    for job in jobs:
        name, pid = worker_name(job.worker)
        grouped.setdefault(name, []).append(
            RunningJob(
                id=job.id,
                name=job.name,
                kind=job.kind,
                attempt=job.attempt,
                stage=job.stage,
                progress=job.progress,
                started_at=job.started_at,
                pid=pid,
            )
        )
    return grouped


def collect(store: Store, runner: Runner, viewer: Viewer = SINGLE_USER) -> WorkersStatus:
    """The queue, the workers and what each runs: the database is the truth, the runner adds
    which workers are registered. Only the running jobs ``viewer`` may read are named."""
    described = runner.describe()
    kind = str(described.get("kind", "unknown"))
    running = running_by_worker(
        store.list_jobs(status=JobStatus.RUNNING, limit=RUNNING_LIMIT, viewer=viewer)
    )
    depth = described.get("depth") or {}
    queue = QueueInfo(
        runner=kind,
        name=described.get("queue") if kind == "rq" else None,
        redis=described.get("redis"),
        reachable=bool(described.get("alive", False)),
        error=described.get("error"),
        queued=depth.get("queued"),
        started=depth.get("started"),
        failed=depth.get("failed"),
        reconciler=described.get("reconciler"),
    )
    workers: list[WorkerInfo] = []
    if kind == "rq" and queue.reachable:
        try:
            registered = runner.workers()
        except Exception as error:  # Redis went away between the two calls
            queue.reachable, queue.error, registered = False, f"Redis is unreachable: {error}", []
        for worker in registered:
            workers.append(
                WorkerInfo(**asdict(worker), registered=True, jobs=running.pop(worker.name, []))
            )
    elif kind == "local":
        name = str(described.get("name"))
        hostname, _, pid = name.rpartition(":")
        jobs = running.pop(name, [])
        workers.append(
            WorkerInfo(
                name=name,
                hostname=hostname or None,
                pid=int(pid) if pid.isdigit() else None,
                state="busy" if jobs else "idle",
                registered=True,
                jobs=jobs,
            )
        )
    for name, jobs in sorted(running.items()):
        # Running in the database, but the worker is not registered (killed, or Redis lost
        # its entry): its lease runs out and the reconciler retries the job, if it is gone.
        hostname, _, pid = name.rpartition(":")
        workers.append(
            WorkerInfo(
                name=name,
                hostname=hostname or None,
                pid=int(pid) if pid.isdigit() else None,
                state="unregistered",
                registered=False,
                jobs=jobs,
            )
        )
    return WorkersStatus(queue=queue, jobs=store.count_jobs(), workers=workers)
