"""``dockyard worker``: an RQ worker whose work-horse supervises each job in its own child.

Three processes per running job; the horse and the job process each die with their parent
(``PR_SET_PDEATHSIG``), so a SIGKILLed worker never leaves a docking behind to finish a second
time::

    worker (RQ's main loop; reconciler thread)
      └─ work-horse (RQ forks it per job; runs :func:`perform`: claim, lease, cancel, limits)
           └─ job process (:func:`dockyard.runners.child.main` → ``run_job``; Vina holds its GIL)

Vina's ``dock()`` holds the GIL, so nothing inside the job process could keep a lease alive;
the horse does, exactly as the local runner's supervisor does. The outcome is always written to
the database (fenced by the claimed attempt): by ``run_job`` in the job process, by the horse
(time limit, a killed job process), or by the RQ callbacks below when the horse itself dies.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess

from redis.exceptions import RedisError
from rq import get_current_job
from rq.exceptions import AbandonedJobError
from rq.job import Job as RQJob
from rq.worker import Worker
from rq.worker_registration import REDIS_WORKER_KEYS, register
from sqlalchemy.exc import SQLAlchemyError

from dockyard.config import Settings, get_settings
from dockyard.errors import NotFoundError
from dockyard.jobs.live_progress import ProgressWatcher
from dockyard.jobs.models import JobStatus
from dockyard.jobs.store import Claim, Store
from dockyard.processes import die_with_parent
from dockyard.runners import child
from dockyard.runners.rq import JobQueue, connect, parse_rq_job_id

log = logging.getLogger(__name__)

TICK_SECONDS = 0.5
OWNERSHIP_CHECK_SECONDS = 1.0
FINISHING_SECONDS = 3.0


@dataclass
class WorkerContext:
    """What the worker process knows, inherited by its work-horses through fork."""

    settings: Settings
    name: str
    _store: Store | None = field(default=None, repr=False)

    def store(self) -> Store:
        """This process's store (callbacks, reconciler); a horse opens its own per job."""
        if self._store is None:
            self._store = Store.open(self.settings.resolved_database_url, migrate_schema=False)
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


def _request_hand_back(signum: int, _frame: object) -> None:
    global _hand_back
    _hand_back = True


# -- the work-horse --------------------------------------------------------------------------


def perform(job_id: int) -> str:
    """The RQ job function: claim the job, run it in a child, supervise it, write the outcome."""
    ctx = context()
    store = Store.open(ctx.settings.resolved_database_url, migrate_schema=False)
    try:
        claim = store.claim(job_id, ctx.name, ctx.settings.lease_seconds)
        if claim is None:
            return "not pending (cancelled, finished or claimed elsewhere): nothing to do"
        _remember_attempt(claim)
        return Supervisor(store, claim, ctx.settings, ctx.name).run()
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


def _job_process(database_url: str, claim: Claim, cpu: int) -> None:
    for signum in (signal.SIGTERM, signal.SIGUSR1):
        signal.signal(signum, signal.SIG_DFL)
    child.main(database_url, claim, cpu)


class Supervisor:
    """Runs one claimed job in a child and keeps it honest: leases, cancel, time limit."""

    def __init__(self, store: Store, claim: Claim, settings: Settings, worker: str):
        self.store = store
        self.claim = claim
        self.settings = settings
        self.worker = worker
        self.process: BaseProcess | None = None

    def run(self) -> str:
        claim, lease = self.claim, self.settings.lease_seconds
        process = multiprocessing.get_context("fork").Process(
            target=_job_process,
            args=(self.settings.resolved_database_url, claim, self.settings.worker_cpu),
            name=f"dockyard-job-{claim.job_id}",
            daemon=False,
        )
        process.start()
        self.process = process
        self.store.set_worker(claim, f"{self.worker}:{process.pid}")
        log.info("job %s attempt %s started in pid %s", claim.job_id, claim.attempt, process.pid)
        started = last_renewal = last_check = last_ok = time.monotonic()
        progress = ProgressWatcher(self.store)
        try:
            while True:
                process.join(TICK_SECONDS)
                if _hand_back:
                    return self.hand_back()
                if process.exitcode is not None:
                    return self.reap(process.exitcode)
                with contextlib.suppress(SQLAlchemyError):  # the checks below handle outages
                    progress.update(claim)
                now = time.monotonic()
                if now - started > claim.time_limit:
                    self.kill()
                    self.store.fail(
                        claim,
                        f"Stopped after exceeding the time limit of {claim.time_limit:.0f} s.",
                    )
                    return "time limit exceeded"
                if now - last_check < OWNERSHIP_CHECK_SECONDS:
                    continue
                last_check = now
                try:
                    if now - last_renewal > lease / 3:
                        self.store.renew_leases([claim], lease)
                        last_renewal = now
                    owned = claim.job_id in self.store.still_owned([claim])
                    last_ok = now
                except SQLAlchemyError as error:
                    if now - last_ok > lease:
                        raise  # the lease is gone: someone else may run the job now
                    log.warning("job %s: the database did not answer (%s)", claim.job_id, error)
                    continue
                if not owned:
                    return self.disowned()
        finally:
            self.kill()
            progress.forget(claim)
            with contextlib.suppress(ValueError):  # still running after SIGKILL: leave it be
                process.close()

    def reap(self, code: int) -> str:
        if code < 0:
            cause = f"the job's process was killed by {signal.Signals(-code).name}"
            outcome = self.store.retry_or_fail(self.claim, cause)
            log.warning("job %s: %s -> %s", self.claim.job_id, cause, outcome)
            return f"{cause}; {outcome or 'no longer ours'}"
        if code > 0:
            self.store.fail(self.claim, f"The job's process exited with code {code}.")
            return f"exited with code {code}"
        # Fenced: a job that run_job completed or failed ignores this.
        self.store.fail(self.claim, "The job's process ended without a result.")
        return "finished"

    def disowned(self) -> str:
        """The job is no longer running on our attempt: finished by its process, or taken away."""
        try:
            status = self.store.get_job(self.claim.job_id).status
        except NotFoundError:
            status = None
        if status in (JobStatus.COMPLETED, JobStatus.FAILED) and self.process is not None:
            self.process.join(FINISHING_SECONDS)  # it wrote its outcome and is tidying up
            if self.process.exitcode is not None:
                return f"finished: {status.value}"
        log.info("job %s is %s, no longer ours: killing its process", self.claim.job_id, status)
        self.kill()
        return f"stopped: the job is {status or 'deleted'}"

    def hand_back(self) -> str:
        """The worker is shutting down: kill the child, queue the job again without using a try."""
        self.kill()
        if not self.store.release(self.claim):
            return "shutting down; the job was no longer ours"
        try:
            jobs = JobQueue(connect(self.settings.redis_url or ""), self.settings.queue)
            jobs.enqueue(self.claim.job_id, self.claim.attempt, self.claim.time_limit)
        except (RedisError, ValueError) as error:
            log.warning(
                "job %s handed back; the reconciler will enqueue it (%s)", self.claim.job_id, error
            )
        return "worker shutting down: handed back to the queue"

    def kill(self) -> None:
        process = self.process
        if process is None or process.pid is None or process.exitcode is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            process.kill()
        process.join(timeout=5)


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
    """RQ failure callback: the horse raised (lost the database for longer than its lease).

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
    except SQLAlchemyError as error:
        log.warning("job %s: %s; the reconciler will retry it (%s)", claim.job_id, cause, error)


# -- the worker ----------------------------------------------------------------------------


class DockyardWorker(Worker):
    """RQ's forking worker, made to ride out Redis outages and to hand jobs back on SIGTERM."""

    shutting_down = False

    def request_stop(self, signum, frame) -> None:
        self.shutting_down = True
        super().request_stop(signum, frame)

    def setup_work_horse_signals(self) -> None:
        super().setup_work_horse_signals()
        die_with_parent(self.pid)
        context().forget_store()
        signal.signal(signal.SIGUSR1, _request_hand_back)
        signal.signal(signal.SIGTERM, _request_hand_back)

    def handle_warm_shutdown_request(self) -> None:
        super().handle_warm_shutdown_request()
        if self.horse_pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.horse_pid, signal.SIGUSR1)

    def maintain_heartbeats(self, job, execution) -> None:
        try:
            super().maintain_heartbeats(job, execution)
        except RedisError as error:
            log.warning("worker %s: Redis heartbeat failed (%s); the job goes on", self.name, error)

    def heartbeat(self, timeout=None, pipeline=None) -> None:
        super().heartbeat(timeout, pipeline)
        if pipeline is None and self.birth_date is not None and not self._is_horse:
            self._register_again_if_lost()

    def _register_again_if_lost(self) -> None:
        """After Redis restarted empty or was flushed, show up in ``/api/workers`` again."""
        with contextlib.suppress(RedisError):
            if not self.connection.sismember(REDIS_WORKER_KEYS, self.key):
                with self.connection.pipeline() as pipe:
                    pipe.hset(self.key, mapping=self.serialize())
                    register(self, pipe)
                    pipe.expire(self.key, self.worker_ttl + 60)
                    pipe.execute()

    def monitor_work_horse(self, job, queue, execution) -> None:
        try:
            super().monitor_work_horse(job, queue, execution)
        except RedisError as error:
            log.warning("worker %s: Redis failed while job %s ended (%s)", self.name, job.id, error)
            if self.horse_pid:
                self.wait_for_horse()
                self._horse_pid = 0


def run_worker(settings: Settings, queues: list[str], *, burst: bool = False) -> None:
    """Run an RQ worker until SIGTERM/SIGINT (or, with ``burst``, until the queues are empty).

    RQ's loop quits on errors it does not expect (Redis gone at the wrong moment); this starts
    it again with a growing pause, so a worker outlives Redis restarts.
    """
    import dockyard.jobs.run  # noqa: F401  (load the science stack once; horses fork it)
    from dockyard.runners.reconcile import Reconciler

    if not settings.redis_url:
        raise ValueError("DOCKYARD_REDIS_URL is not set: a worker takes its jobs from Redis.")
    name = f"{socket.gethostname()}:{os.getpid()}"
    ctx = set_context(settings, name)
    reconciler = Reconciler(
        ctx.store(),
        JobQueue(connect(settings.redis_url), settings.queue),
        owner=f"worker {name}",
        interval=settings.reconcile_seconds,
        retry_backoff=settings.retry_backoff,
    )
    if burst:
        with contextlib.suppress(RedisError, SQLAlchemyError):
            reconciler.run_once(force=True)
    else:
        reconciler.start()
    connection = connect(settings.redis_url)
    pause = 1.0
    try:
        while True:
            worker = None
            try:
                with contextlib.suppress(RedisError):  # our own stale entry from a failed loop
                    connection.delete(Worker.redis_worker_namespace_prefix + name)
                worker = DockyardWorker(
                    queues,
                    name=name,
                    connection=connection,
                    job_monitoring_interval=5,
                    maintenance_interval=60,
                    work_horse_killed_handler=on_horse_killed,
                )
                began = time.monotonic()
                worker.work(burst=burst, logging_level="INFO")
                if burst or worker.shutting_down:
                    return
                if time.monotonic() - began > 60:
                    pause = 1.0
                log.warning("worker %s: RQ's loop quit; starting it again in %.0f s", name, pause)
            except (RedisError, OSError, ValueError) as error:
                if worker is not None and worker.shutting_down:
                    return
                log.warning("worker %s: %s; trying again in %.0f s", name, error, pause)
            time.sleep(pause)
            pause = min(pause * 2, 30.0)
    finally:
        reconciler.stop()
        ctx.close()


__all__ = [
    "DockyardWorker",
    "WorkerContext",
    "context",
    "on_failure",
    "on_stopped",
    "perform",
    "run_worker",
]
