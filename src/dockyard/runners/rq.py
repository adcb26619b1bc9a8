"""The RQ runner: the API puts job ids on a Redis queue and ``dockyard worker`` processes run them.

Redis carries only *which job to run next*. The API never reads a job's state from Redis: it
writes the job row, enqueues the id, and reads everything back from the database. Losing Redis
loses no job — :mod:`dockyard.runners.reconcile` enqueues pending jobs the queue forgot.

Each RQ job is named ``dockyard-{job_id}-{attempt}``, after the attempt it will run as, so one
attempt is enqueued at most once however many API processes and reconcilers try at the same
time, and a stale RQ record of an earlier attempt never collides with the next one. A job that
runs anyway (a duplicate, or a job cancelled meanwhile) finds the row no longer pending, fails
to claim it and does nothing: the compare-and-set claim in the store is what makes every
duplicate harmless.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Callback, Queue
from rq.job import Job as RQJob
from rq.registry import FailedJobRegistry, StartedJobRegistry
from rq.worker import Worker

from dockyard.errors import NotFoundError
from dockyard.jobs.models import CONTAINER_KINDS
from dockyard.jobs.store import PendingJob, Store

log = logging.getLogger(__name__)

PERFORM = "dockyard.runners.rq_worker.perform"
ON_FAILURE = "dockyard.runners.rq_worker.on_failure"
ON_STOPPED = "dockyard.runners.rq_worker.on_stopped"

TIMEOUT_MARGIN = 120
"""Seconds RQ allows on top of a job's own time limit, which the work-horse enforces itself:
RQ's default of 180 s would kill real dockings."""
ENQUEUE_GUARD_SECONDS = 60
"""How long a claim to enqueue one attempt stands, so racing enqueuers push it only once."""
RESULT_TTL = 3600
FAILURE_TTL = 7 * 24 * 3600
HELD_STATUSES = frozenset({"queued", "started", "deferred", "scheduled"})
LEADER_KEY = "dockyard:reconciler"


def rq_job_id(job_id: int, attempt: int) -> str:
    """The RQ job id of ``attempt`` (the number it will run as) of a Dockyard job."""
    return f"dockyard-{job_id}-{attempt}"


def parse_rq_job_id(rq_id: str) -> tuple[int, int] | None:
    """``(job_id, attempt)`` from an RQ job id made by :func:`rq_job_id`, else None."""
    parts = rq_id.split("-")
    if len(parts) != 3 or parts[0] != "dockyard" or not all(p.isdigit() for p in parts[1:]):
        return None
    return int(parts[1]), int(parts[2])


def connect(redis_url: str, *, timeout: float = 5.0) -> Redis:
    """A Redis client that fails fast: a request never waits long on a Redis that is down."""
    return Redis.from_url(
        redis_url,
        socket_connect_timeout=min(timeout, 2.0),
        socket_timeout=timeout,
        health_check_interval=30,
    )


def safe_url(redis_url: str) -> str:
    """The URL without its password, for pages and logs."""
    from redis.connection import parse_url

    parts = parse_url(redis_url)
    host = parts.get("host") or parts.get("path", "")
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"redis://{host}{port}/{parts.get('db', 0)}"


@dataclass
class JobQueue:
    """The Redis side of the RQ runner: enqueue job ids, say what the queue holds, queue depth."""

    connection: Redis
    name: str = "dockyard"

    @property
    def queue(self) -> Queue:
        return Queue(self.name, connection=self.connection)

    def enqueue(self, job_id: int, attempt: int, time_limit: float) -> bool:
        """Put the next attempt (``attempt + 1``) of a pending job on the queue.

        False when another process enqueued that attempt moments ago: a short-lived guard key
        lets one of several racing enqueuers (API processes, reconcilers) push it.
        """
        rq_id = rq_job_id(job_id, attempt + 1)
        guard = f"dockyard:enqueued:{rq_id}"
        if not self.connection.set(guard, os.getpid(), nx=True, ex=ENQUEUE_GUARD_SECONDS):
            return False
        self.queue.enqueue_call(
            PERFORM,
            args=(job_id,),
            job_id=rq_id,
            timeout=int(time_limit) + TIMEOUT_MARGIN,
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
            description=f"Dockyard job {job_id}, attempt {attempt + 1}",
            on_failure=Callback(ON_FAILURE),
            on_stopped=Callback(ON_STOPPED),
            at_front=attempt > 0,  # a job run again (or handed back) was waiting longest
        )
        return True

    def held(self, pending: list[PendingJob]) -> set[int]:
        """The ids among ``pending`` whose next attempt the queue holds (queued or running)."""
        if not pending:
            return set()
        with self.connection.pipeline(transaction=False) as pipe:
            for job in pending:
                pipe.hget(RQJob.key_for(rq_job_id(job.job_id, job.attempt + 1)), "status")
            statuses = pipe.execute()
        held = {
            job.job_id: status.decode()
            for job, status in zip(pending, statuses, strict=True)
            if status is not None and status.decode() in HELD_STATUSES
        }
        if "queued" in held.values():
            # "queued" in a job's hash counts only while the queue's list has it too.
            queue = self.queue
            listed = set(queue.get_job_ids()) | set(queue.intermediate_queue.get_job_ids())
            for job in pending:
                rq_id = rq_job_id(job.job_id, job.attempt + 1)
                if held.get(job.job_id) == "queued" and rq_id not in listed:
                    del held[job.job_id]
        return set(held)

    def lead(self, owner: str, seconds: float) -> bool:
        """Take the reconciler's turn for ``seconds``: one pass per interval across the fleet."""
        return bool(self.connection.set(LEADER_KEY, owner, nx=True, px=max(1, int(seconds * 1000))))

    def depth(self) -> dict[str, int]:
        """Jobs waiting in the queue, and RQ's started and failed registries (read-only)."""
        queue = self.queue
        with self.connection.pipeline(transaction=False) as pipe:
            pipe.llen(queue.key)
            pipe.zcard(StartedJobRegistry(queue=queue).key)
            pipe.zcard(FailedJobRegistry(queue=queue).key)
            queued, started, failed = pipe.execute()
        return {"queued": queued, "started": started, "failed": failed}

    def workers(self) -> list[dict[str, Any]]:
        """Every RQ worker registered in Redis, as plain data."""
        described = []
        for worker in Worker.all(connection=self.connection):
            current = worker.get_current_job_id()
            described.append(
                {
                    "name": worker.name,
                    "hostname": worker.hostname,
                    "pid": worker.pid,
                    "state": str(getattr(worker.get_state(), "value", worker.get_state())),
                    "queues": worker.queue_names(),
                    "birth": worker.birth_date,
                    "last_heartbeat": worker.last_heartbeat,
                    "successful_jobs": worker.successful_job_count,
                    "failed_jobs": worker.failed_job_count,
                    "rq_job": current,
                    "job_id": (parse_rq_job_id(current) or (None,))[0] if current else None,
                }
            )
        return sorted(described, key=lambda worker: worker["name"])


class RQRunner:
    """The API's side of the RQ runner: enqueue on submit, reconcile at start and periodically.

    It runs no job itself. While Redis is unreachable, submitting still works: the job row is
    written and the reconciler enqueues it once Redis is back.
    """

    RETRY_REDIS_AFTER = 5.0

    def __init__(self, store: Store, redis_url: str, *, settings: Any):
        from dockyard.runners.reconcile import Reconciler

        self.store = store
        self.redis_url = redis_url
        self.settings = settings
        self.name = f"api:{socket.gethostname()}:{os.getpid()}"
        self.jobs = JobQueue(connect(redis_url, timeout=2.0), settings.queue)
        self.reconciler = Reconciler(
            store,
            JobQueue(connect(redis_url), settings.queue),
            owner=self.name,
            interval=settings.reconcile_seconds,
            retry_backoff=settings.retry_backoff,
        )
        self._redis_down_until = 0.0
        self._lock = threading.Lock()

    # -- Runner interface ---------------------------------------------------------------

    def start(self) -> None:
        self.reconciler.start()

    def stop(self) -> None:
        """Stop reconciling. Jobs run on the workers; nothing here to hand back."""
        self.reconciler.stop()

    def submitted(self, job_id: int) -> None:
        """Enqueue a new job (or, for a screen, let the reconciler enqueue its chunks now)."""
        if time.monotonic() < self._redis_down_until:
            return  # the reconciler enqueues it once Redis answers again
        try:
            job = self.store.get_job(job_id)
        except NotFoundError:
            return  # deleted already
        if job.kind in CONTAINER_KINDS:
            self.reconciler.wake()
            return
        try:
            self.jobs.enqueue(job.id, job.attempt, job.time_limit)
        except RedisError as error:
            with self._lock:
                self._redis_down_until = time.monotonic() + self.RETRY_REDIS_AFTER
            log.warning("job %s stays pending until Redis answers again: %s", job_id, error)

    def registered_workers(self) -> list[dict[str, Any]]:
        """The RQ workers registered in Redis (for ``/api/workers``; not a job's state)."""
        return self.jobs.workers()

    def describe(self) -> dict[str, object]:
        state: dict[str, object] = {
            "kind": "rq",
            "name": self.name,
            "redis": safe_url(self.redis_url),
            "queue": self.settings.queue,
            "reconciler": self.reconciler.describe(),
        }
        try:
            self.jobs.connection.ping()
            state.update(alive=True, depth=self.jobs.depth())
        except RedisError as error:
            state.update(alive=False, error=f"Redis is unreachable: {error}")
        return state


__all__ = ["JobQueue", "RQRunner", "connect", "parse_rq_job_id", "rq_job_id"]
