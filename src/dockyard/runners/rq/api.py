"""The API's side of the RQ runner: ``dockyard serve`` enqueues job ids, workers run them.

Redis carries only *which job to run next*. The API never reads a job's state from Redis: it
writes the job row, enqueues the id, and reads everything back from the database. Losing Redis
loses no job: the :mod:`reconciler <dockyard.runners.rq.reconcile>` enqueues pending jobs the
queue forgot.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from redis.exceptions import RedisError

from dockyard.config import Settings
from dockyard.errors import NotFoundError, UnavailableError
from dockyard.jobs.models import CONTAINER_KINDS
from dockyard.jobs.store import Store
from dockyard.runners.base import RegisteredWorker
from dockyard.runners.reaper import Reaper
from dockyard.runners.rq.queue import JobQueue, connect, safe_url
from dockyard.runners.rq.reconcile import Reconciler

log = logging.getLogger(__name__)


class RQRunner:
    """The API's side of the RQ runner: enqueue on submit, reconcile at start and periodically.

    It runs no job itself. While Redis is unreachable, submitting still works: the job row is
    written and the reconciler enqueues it once Redis is back.
    """

    RETRY_REDIS_AFTER = 5.0

    def __init__(self, store: Store, redis_url: str, *, settings: Settings):
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
            reaper=Reaper.from_settings(store, settings, owner=self.name),
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
        except UnavailableError as error:  # stored: the reconciler enqueues it once it can
            log.warning("job %s stays pending until the database answers again: %s", job_id, error)
            return
        if job.kind in CONTAINER_KINDS:
            self.reconciler.wake()
            return
        try:
            self.jobs.enqueue(job.id, job.attempt, job.time_limit, bulk=job.parent_id is not None)
        except RedisError as error:
            with self._lock:
                self._redis_down_until = time.monotonic() + self.RETRY_REDIS_AFTER
            log.warning("job %s stays pending until Redis answers again: %s", job_id, error)

    def workers(self) -> list[RegisteredWorker]:
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


__all__ = ["RQRunner"]
