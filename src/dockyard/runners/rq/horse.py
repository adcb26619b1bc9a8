"""What runs inside an RQ work-horse: claim a job, run it in its own process, supervise it.

Three processes per running job; the horse and the job process each die with their parent
(``PR_SET_PDEATHSIG``), so a SIGKILLed worker never leaves a docking behind to finish a second
time::

    worker (:mod:`dockyard.runners.rq.worker`: RQ's main loop; reconciler thread)
      └─ work-horse (RQ forks it per job; runs :func:`perform`: claim, lease, cancel, limits)
           └─ job process (:func:`dockyard.runners.child.main` → ``run_job``; Vina holds its GIL)

Vina's ``dock()`` holds the GIL, so nothing inside the job process could keep a lease alive;
the horse does, with the same :class:`~dockyard.runners.supervise.Supervision` as the local
runner. The outcome is always written to the database (fenced by the claimed attempt): by
``run_job`` in the job process, by the horse (time limit, a killed job process), or by the RQ
callbacks below when the horse itself dies.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import time
from dataclasses import dataclass, field

from redis.exceptions import RedisError
from rq import get_current_job
from rq.exceptions import AbandonedJobError
from rq.job import Job as RQJob
from sqlalchemy.exc import SQLAlchemyError

from dockyard.config import Settings, get_settings
from dockyard.errors import NotFoundError, UnavailableError
from dockyard.jobs.db import patiently
from dockyard.jobs.models import JobStatus
from dockyard.jobs.store import Claim, Store
from dockyard.runners.rq.queue import JobQueue, connect, parse_rq_job_id
from dockyard.runners.supervise import Running, Supervision

log = logging.getLogger(__name__)

TICK_SECONDS = 0.5
OWNERSHIP_CHECK_SECONDS = 1.0
FINISHING_SECONDS = 3.0
OUTAGE_LOG_SECONDS = 5.0
CLAIM_PATIENCE = 300.0
"""How long a work-horse waits for the database to claim its job; then RQ fails the RQ job and
the reconciler enqueues the still pending job again."""


@dataclass
class WorkerContext:
    """What the worker process knows, inherited by its work-horses through fork."""

    settings: Settings
    name: str
    _store: Store | None = field(default=None, repr=False)

    def store(self) -> Store:
        """This process's store (callbacks, reconciler); a horse opens its own per job."""
        if self._store is None:
            self._store = Store.open(
                self.settings.resolved_database_url,
                migrate_schema=False,
                announce_to=self.settings.redis_url,
            )
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def forget_store(self) -> None:
        """After a fork: drop the parent's pooled connections without closing them under it."""
        if self._store is not None:
            self._store.engine.dispose(close=False)
            self._store = None


_context: WorkerContext | None = None
_hand_back = False


def context() -> WorkerContext:
    """The worker's context; built from the environment when RQ runs us some other way."""
    global _context
    if _context is None:
        _context = WorkerContext(get_settings(), f"{socket.gethostname()}:{os.getpid()}")
    return _context


def set_context(settings: Settings, name: str) -> WorkerContext:
    global _context
    _context = WorkerContext(settings, name)
    return _context


def request_hand_back(signum: int, _frame: object) -> None:
    """The horse's SIGTERM and SIGUSR1 handler: the worker is shutting down."""
    global _hand_back
    _hand_back = True


# -- the work-horse --------------------------------------------------------------------------


def perform(job_id: int) -> str:
    """The RQ job function: claim the job, run it in a child, supervise it, write the outcome."""
    ctx = context()
    store = Store.open(
        ctx.settings.resolved_database_url,
        migrate_schema=False,
        announce_to=ctx.settings.redis_url,
    )
    try:
        claim = patiently(
            lambda: store.claim(job_id, ctx.name, ctx.settings.lease_seconds),
            f"job {job_id}: claiming it",
            give_up_after=CLAIM_PATIENCE,
        )
        if claim is None:
            return "not pending (cancelled, finished or claimed elsewhere): nothing to do"
        _remember_attempt(claim)
        return HorseJob(store, claim, ctx.settings, ctx.name).run()
    finally:
        store.close()


def _remember_attempt(claim: Claim) -> None:
    """Note the claimed attempt on the RQ job, for the callbacks that run if the horse dies."""
    rq_job = get_current_job()
    if rq_job is None:
        return
    rq_job.meta["attempt"] = claim.attempt
    try:
        rq_job.save_meta()
    except RedisError as error:
        log.warning("job %s: cannot note the attempt in Redis (%s)", claim.job_id, error)


class HorseJob:
    """Runs one claimed job in a child and keeps it honest: leases, cancel, time limit."""

    def __init__(self, store: Store, claim: Claim, settings: Settings, worker: str):
        self.store = store
        self.claim = claim
        self.settings = settings
        self.supervision = Supervision(
            store,
            worker,
            database_url=settings.resolved_database_url,
            cpu=settings.worker_cpu,
            context=multiprocessing.get_context("fork"),
        )

    def run(self) -> str:
        """Supervise the job's process to its end. A database outage is waited out, however
        long: nothing can take the job away while the database is down, and once it is back
        the ownership check (a job re-queued meanwhile) and the fenced writes decide."""
        claim, lease = self.claim, self.settings.lease_seconds
        running = self.supervision.start(claim)
        last_renewal = last_check = time.monotonic()
        last_warning = 0.0
        try:
            while True:
                running.process.wait(TICK_SECONDS)
                if _hand_back:
                    return self.hand_back(running)
                now = time.monotonic()
                try:
                    ended = self.supervision.reap(running)
                    if ended is not None:
                        return ended
                    self.supervision.watch(running)
                    if self.supervision.stop_if_over_time(running):
                        return "time limit exceeded"
                    if now - last_check < OWNERSHIP_CHECK_SECONDS:
                        continue
                    last_check = now
                    if now - last_renewal > lease / 3:
                        self.store.renew_leases([claim], lease)
                        last_renewal = now
                    owned = claim.job_id in self.store.still_owned([claim])
                except (UnavailableError, SQLAlchemyError) as error:
                    if now - last_warning >= OUTAGE_LOG_SECONDS:
                        log.warning("job %s: the database did not answer (%s)", claim.job_id, error)
                        last_warning = now
                    continue
                if not owned:
                    return self.disowned(running)
        finally:
            self.supervision.end(running)

    def disowned(self, running: Running) -> str:
        """The job is no longer running on our attempt: finished by its process, or taken away."""
        try:
            status = self.store.get_job(self.claim.job_id).status
        except NotFoundError:
            status = None
        # A job whose process wrote its outcome may still be tidying up: give it a moment.
        if status in (JobStatus.COMPLETED, JobStatus.FAILED) and (
            running.process.wait(FINISHING_SECONDS) is not None
        ):
            return f"finished: {status.value}"
        log.info("job %s is %s, no longer ours: killing its process", self.claim.job_id, status)
        running.process.kill()
        return f"stopped: the job is {status or 'deleted'}"

    def hand_back(self, running: Running) -> str:
        """The worker is shutting down: kill the child, queue the job again without using a try."""
        running.process.kill()
        if not self.store.release(self.claim):
            return "shutting down; the job was no longer ours"
        try:
            jobs = JobQueue(connect(self.settings.redis_url or ""), self.settings.queue)
            bulk = self.store.get_job(self.claim.job_id).parent_id is not None
            jobs.enqueue(self.claim.job_id, self.claim.attempt, self.claim.time_limit, bulk=bulk)
        except (RedisError, ValueError) as error:
            log.warning(
                "job %s handed back; the reconciler will enqueue it (%s)", self.claim.job_id, error
            )
        return "worker shutting down: handed back to the queue"


# -- RQ callbacks: the outcome when the horse itself fails or is stopped ----------------------


def _claim_of(rq_job: RQJob) -> Claim | None:
    """The attempt the horse claimed, or None when it never claimed one (nothing to write)."""
    parsed = parse_rq_job_id(rq_job.id)
    if parsed is None:
        return None
    try:
        meta = rq_job.get_meta(refresh=True)
    except RedisError:
        meta = rq_job.meta
    attempt = meta.get("attempt")
    return Claim(parsed[0], int(attempt), 0.0) if attempt is not None else None


def on_failure(rq_job: RQJob, connection: object, exc_type: type, exc_value: object, tb: object):
    """RQ failure callback: the horse raised (an error it did not expect).

    RQ also calls it for a job it considers abandoned (its execution's Redis heartbeat ran
    out). That is left to the lease in the database, which a live horse keeps renewing even
    while Redis is away: a job is retried when its lease expires, not when Redis forgot it.
    """
    if isinstance(exc_type, type) and issubclass(exc_type, AbandonedJobError):
        return
    claim = _claim_of(rq_job)
    if claim is not None:
        cause = f"its worker failed ({exc_type.__name__}: {exc_value})".replace(" ()", "")
        context().store().retry_or_fail(claim, cause)


def on_stopped(rq_job: RQJob, connection: object) -> None:
    """RQ stop callback (``send_stop_job_command``): the job was killed on purpose."""
    claim = _claim_of(rq_job)
    if claim is not None:
        context().store().fail(claim, f"Stopped on its worker by an RQ stop command ({rq_job.id}).")


def on_horse_killed(rq_job: RQJob, retpid: int, ret_val: int, rusage: object) -> None:
    """The horse died (and its job process with it): retry now rather than at lease expiry."""
    claim = _claim_of(rq_job)
    if claim is None:
        return
    if ret_val is not None and os.WIFSIGNALED(ret_val):
        cause = f"its work-horse was killed by {signal.Signals(os.WTERMSIG(ret_val)).name}"
    else:
        cause = f"its work-horse ended abnormally (status {ret_val})"
    try:
        outcome = context().store().retry_or_fail(claim, cause)
        log.warning("job %s: %s -> %s", claim.job_id, cause, outcome)
    except (UnavailableError, SQLAlchemyError) as error:
        log.warning("job %s: %s; the reconciler will retry it (%s)", claim.job_id, cause, error)


__all__ = [
    "HorseJob",
    "WorkerContext",
    "context",
    "on_failure",
    "on_horse_killed",
    "on_stopped",
    "perform",
    "request_hand_back",
    "set_context",
]
