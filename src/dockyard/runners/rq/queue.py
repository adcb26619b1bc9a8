"""The Redis side of the RQ runner: RQ job ids, connections, and the queue of Dockyard job ids.

Each RQ job is named ``dockyard-{job_id}-{attempt}``, after the attempt it will run as, so one
attempt is enqueued at most once however many API processes and reconcilers try at the same
time, and a stale RQ record of an earlier attempt never collides with the next one. A job that
runs anyway (a duplicate, or a job cancelled meanwhile) finds the row no longer pending, fails
to claim it and does nothing: the compare-and-set claim in the store is what makes every
duplicate harmless.

The functions RQ calls are named, not imported: they live in :mod:`dockyard.runners.rq.horse`,
above this module, and only work-horses need them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from redis import Redis
from rq import Callback, Queue
from rq.job import Job as RQJob
from rq.registry import FailedJobRegistry, StartedJobRegistry
from rq.worker import Worker

from dockyard.jobs.store import PendingJob
from dockyard.runners.base import RegisteredWorker

PERFORM = "dockyard.runners.rq.horse.perform"
ON_FAILURE = "dockyard.runners.rq.horse.on_failure"
ON_STOPPED = "dockyard.runners.rq.horse.on_stopped"

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


BULK_SUFFIX = "-bulk"


def bulk_queue_name(name: str) -> str:
    """The queue of screen chunks beside the interactive queue ``name`` (single dockings)."""
    return f"{name}{BULK_SUFFIX}"


def worker_queue_names(name: str) -> list[str]:
    """What a worker listens to, in priority order: RQ takes from the first queue that has a
    job, so a single docking never waits behind a screen's chunks."""
    return [name, bulk_queue_name(name)]


@dataclass
class JobQueue:
    """The Redis side of the RQ runner: enqueue job ids, say what the queues hold, their depth.

    Two queues by priority: ``name`` (interactive: single dockings) and ``name-bulk`` (screen
    chunks); workers listen to both, interactive first.
    """

    connection: Redis
    name: str = "dockyard"

    @property
    def queue(self) -> Queue:
        return Queue(self.name, connection=self.connection)

    @property
    def bulk(self) -> Queue:
        return Queue(bulk_queue_name(self.name), connection=self.connection)

    def enqueue(self, job_id: int, attempt: int, time_limit: float, *, bulk: bool = False) -> bool:
        """Put the next attempt (``attempt + 1``) of a pending job on its queue (``bulk`` for
        a screen's chunks).

        False when another process enqueued that attempt moments ago: a short-lived guard key
        lets one of several racing enqueuers (API processes, reconcilers) push it.
        """
        rq_id = rq_job_id(job_id, attempt + 1)
        guard = f"dockyard:enqueued:{rq_id}"
        if not self.connection.set(guard, os.getpid(), nx=True, ex=ENQUEUE_GUARD_SECONDS):
            return False
        (self.bulk if bulk else self.queue).enqueue_call(
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
            # "queued" in a job's hash counts only while a queue's list has it too.
            listed = {
                rq_id
                for queue in (self.queue, self.bulk)
                for rq_id in (*queue.get_job_ids(), *queue.intermediate_queue.get_job_ids())
            }
            for job in pending:
                rq_id = rq_job_id(job.job_id, job.attempt + 1)
                if held.get(job.job_id) == "queued" and rq_id not in listed:
                    del held[job.job_id]
        return set(held)

    def lead(self, owner: str, seconds: float) -> bool:
        """Take the reconciler's turn for ``seconds``: one pass per interval across the fleet."""
        return bool(self.connection.set(LEADER_KEY, owner, nx=True, px=max(1, int(seconds * 1000))))

    def depth(self) -> dict[str, int]:
        """Jobs waiting in the queues, and RQ's started and failed registries (read-only)."""
        with self.connection.pipeline(transaction=False) as pipe:
            for queue in (self.queue, self.bulk):
                pipe.llen(queue.key)
                pipe.zcard(StartedJobRegistry(queue=queue).key)
                pipe.zcard(FailedJobRegistry(queue=queue).key)
            counts = pipe.execute()
        queued, started, failed = (counts[i] + counts[i + 3] for i in range(3))
        return {"queued": queued, "started": started, "failed": failed, "bulk": counts[3]}

    def workers(self) -> list[RegisteredWorker]:
        """Every RQ worker registered in Redis."""
        described = [
            RegisteredWorker(
                name=worker.name,
                hostname=worker.hostname,
                pid=worker.pid,
                state=str(getattr(worker.get_state(), "value", worker.get_state())),
                queues=worker.queue_names(),
                birth=worker.birth_date,
                last_heartbeat=worker.last_heartbeat,
                successful_jobs=worker.successful_job_count,
                failed_jobs=worker.failed_job_count,
                rq_job=worker.get_current_job_id(),
            )
            for worker in Worker.all(connection=self.connection)
        ]
        return sorted(described, key=lambda worker: worker.name)


__all__ = [
    "JobQueue",
    "bulk_queue_name",
    "connect",
    "parse_rq_job_id",
    "rq_job_id",
    "safe_url",
    "worker_queue_names",
]
