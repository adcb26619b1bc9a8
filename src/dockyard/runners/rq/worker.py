"""``dockyard worker``: an RQ worker that rides out Redis outages and hands jobs back on SIGTERM.

RQ forks a work-horse per job, which runs :func:`dockyard.runners.rq.horse.perform`; the worker
itself also runs a reconciler, so a fleet of workers repairs the queue without the API, and a
notification sender (:mod:`dockyard.runners.notify`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import time

from redis.exceptions import RedisError
from rq.worker import Worker
from rq.worker_registration import REDIS_WORKER_KEYS, register
from sqlalchemy.exc import SQLAlchemyError

from dockyard.config import Settings
from dockyard.errors import UnavailableError
from dockyard.processes import die_with_parent
from dockyard.runners.notify import Notifier
from dockyard.runners.rq.horse import context, on_horse_killed, request_hand_back, set_context
from dockyard.runners.rq.queue import JobQueue, connect
from dockyard.runners.rq.reconcile import Reconciler

log = logging.getLogger(__name__)


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
        signal.signal(signal.SIGUSR1, request_hand_back)
        signal.signal(signal.SIGTERM, request_hand_back)

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
    notifier = Notifier(ctx.store(), settings, name=f"worker {name}")
    if burst:
        with contextlib.suppress(RedisError, SQLAlchemyError, UnavailableError):
            reconciler.run_once(force=True)
    else:
        reconciler.start()
        notifier.start()
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
        notifier.stop()
        reconciler.stop()
        ctx.close()


__all__ = ["DockyardWorker", "run_worker"]
