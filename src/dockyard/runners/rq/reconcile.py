"""The reconciler: makes the queue agree with the database, which is the truth.

Three repairs, at start and then every ``DOCKYARD_RECONCILE_SECONDS``:

1. A ``running`` job whose lease expired (its worker was killed, lost its machine or its
   network) goes through the retry policy: queued again, or failed after its last attempt.
2. A ``pending`` job whose next attempt the queue does not hold (Redis restarted empty, was
   flushed, or was down when the job was submitted) is enqueued again — once its back-off has
   passed, for a job whose process died: ``DOCKYARD_RETRY_BACKOFF`` seconds, doubling with each
   attempt.
3. A screen none of whose chunks is left to run is finished (its last chunk may have failed
   for good in a horse or a reconciler rather than in ``run_job``).

In the API it also gives the :class:`~dockyard.runners.reaper.Reaper` its ticks.

It runs in the API and in every worker. Several at once do no harm: a Redis key hands out one
turn per interval across the fleet, every state change is a compare-and-set in the store, and
an attempt is enqueued under a fixed RQ job id behind a guard key.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from dockyard.errors import UnavailableError
from dockyard.jobs.models import utcnow
from dockyard.jobs.store import PendingJob, Store
from dockyard.runners.reaper import Reaper
from dockyard.runners.rq.queue import JobQueue

log = logging.getLogger(__name__)

PAGE = 500
MAX_BACKOFF = 600.0


def backoff(attempt: int, base: float) -> float:
    """Seconds to wait before the run after ``attempt`` (0: a new job, no wait)."""
    if attempt <= 0 or base <= 0:
        return 0.0
    return min(MAX_BACKOFF, base * 2 ** (attempt - 1))


class Reconciler:
    def __init__(
        self,
        store: Store,
        jobs: JobQueue,
        *,
        owner: str,
        interval: float,
        retry_backoff: float,
        reaper: Reaper | None = None,
    ):
        self.store = store
        self.jobs = jobs
        self.owner = owner
        self.interval = interval
        self.retry_backoff = retry_backoff
        self.reaper = reaper
        """Asked on every pass whether the retention pass is this process's turn (the
        database decides, not Redis: :mod:`dockyard.runners.reaper`)."""
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_pass: dict[str, Any] | None = None
        self.last_error: str | None = None

    def start(self) -> None:
        """Reconcile now (in the background, so a missing Redis delays nothing) and then often."""
        self._thread = threading.Thread(target=self._loop, name="dockyard-reconciler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.reaper is not None:
            self.reaper.stop()

    def wake(self) -> None:
        """Run a pass now, whoever had the last turn."""
        self._wake.set()

    def describe(self) -> dict[str, Any]:
        return {
            "interval": self.interval,
            "last_pass": self.last_pass,
            "last_error": self.last_error,
        }

    def _loop(self) -> None:
        force = True
        while not self._stopping.is_set():
            try:
                self.run_once(force=force)
                if self.reaper is not None:
                    self.reaper.tick()
                self.last_error = None
            except (RedisError, OSError) as error:
                self.last_error = f"Redis: {error}"
                log.warning("reconciler: Redis is unreachable (%s); trying again later", error)
            except (UnavailableError, SQLAlchemyError) as error:
                self.last_error = f"database: {str(error).splitlines()[0]}"
                log.warning("reconciler: %s; trying again later", self.last_error)
            except Exception as error:
                self.last_error = f"{type(error).__name__}: {error}"
                log.exception("reconciler pass failed; trying again later")
            force = self._wake.wait(self.interval)
            self._wake.clear()

    def run_once(self, *, force: bool = False) -> dict[str, Any] | None:
        """One pass; None when another process had this interval's turn (unless ``force``)."""
        if not force and not self.jobs.lead(self.owner, self.interval * 0.9):
            return None
        retried = self.retry_expired()
        settled = self.store.screens.settle()  # screens whose last chunk failed for good
        enqueued, waiting = self.enqueue_forgotten()
        self.last_pass = {
            "at": utcnow().isoformat(timespec="seconds"),
            "by": self.owner,
            "expired_leases": retried,
            "screens_finished": len(settled),
            "enqueued": enqueued,
            "waiting_for_backoff": waiting,
        }
        if retried or enqueued or settled:
            log.info("reconciler: %s", self.last_pass)
        return self.last_pass

    def retry_expired(self) -> int:
        count = 0
        for claim, worker in self.store.expired_claims():
            cause = f"its worker {worker or 'unknown'} stopped renewing its lease"
            outcome = self.store.retry_or_fail(claim, cause)
            if outcome is not None:
                count += 1
                log.warning(
                    "job %s attempt %s: %s -> %s", claim.job_id, claim.attempt, cause, outcome
                )
        return count

    def enqueue_forgotten(self) -> tuple[int, int]:
        """Enqueue pending jobs the queue does not hold; (enqueued, still in back-off)."""
        enqueued = waiting = 0
        after = 0
        while True:
            page = self.store.pending_jobs(after=after, limit=PAGE)
            if not page:
                return enqueued, waiting
            now = utcnow()
            due: list[PendingJob] = []
            for job in page:
                wait = backoff(job.attempt, self.retry_backoff)
                if job.updated_at + timedelta(seconds=wait) <= now:
                    due.append(job)
                else:
                    waiting += 1
            held = self.jobs.held(due)
            for job in due:
                if job.job_id not in held and self.jobs.enqueue(
                    job.job_id, job.attempt, job.time_limit, bulk=job.bulk
                ):
                    enqueued += 1
            after = page[-1].job_id


__all__ = ["Reconciler", "backoff"]
