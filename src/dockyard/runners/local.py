"""The local runner: a supervisor thread in ``dockyard serve`` that runs each job in a child.

Vina's ``dock()`` holds the GIL for its whole run, so nothing inside the docking process can
keep a lease alive. The supervisor (in the parent) therefore renews leases, watches for
cancels and time limits, kills children by process group, and decides what a dead child
means: a signal (segfault, OOM kill, SIGKILL) queues the job again up to its attempt limit.

While the database is unavailable or full the loop logs one line and tries again, less and
less often (up to every :data:`LONGEST_PAUSE` seconds); children go on docking meanwhile and
wait to write their outcome, and whatever a tick left undone (a dead child to record, leases
to renew) is done by the first tick that reaches the database again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from multiprocessing import forkserver

from dockyard.errors import UnavailableError
from dockyard.jobs.store import Store
from dockyard.runners.base import RegisteredWorker
from dockyard.runners.reaper import Reaper
from dockyard.runners.supervise import Running, Supervision, science_context

log = logging.getLogger(__name__)

TICK_SECONDS = 0.5
LONGEST_PAUSE = 5.0


class LocalRunner:
    """Runs up to ``workers`` jobs at once, each in its own process."""

    def __init__(
        self,
        store: Store,
        database_url: str,
        *,
        workers: int,
        cpu_per_job: int = 0,
        lease_seconds: float = 30.0,
        reaper: Reaper | None = None,
    ):
        self.store = store
        self.slots = workers
        self.lease_seconds = lease_seconds
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._running: dict[int, Running] = {}
        self._supervision = Supervision(
            store, self.name, database_url=database_url, cpu=cpu_per_job, context=science_context()
        )
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_renewal = 0.0
        self._last_recovery = 0.0
        self.reaper = reaper
        """Runs a retention pass when it is this server's turn (:mod:`dockyard.runners.reaper`)."""

    # -- Runner interface ---------------------------------------------------------------

    def start(self) -> None:
        forkserver.ensure_running()  # pay the science-stack import now, not on the first job
        self._recover(startup=True)
        self._thread = threading.Thread(target=self._loop, name="dockyard-runner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Kill running children and hand their jobs back; a later start re-runs them."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.reaper is not None:
            self.reaper.stop()
        for job_id, running in list(self._running.items()):
            self._supervision.end(running)
            try:
                self.store.release(running.claim)
            except UnavailableError as error:  # its lease runs out; the next start re-runs it
                log.warning("job %s not handed back: %s", job_id, error.message)
            del self._running[job_id]

    def submitted(self, job_id: int) -> None:
        self._wake.set()

    def describe(self) -> dict[str, object]:
        return {
            "kind": "local",
            "name": self.name,
            "workers": self.slots,
            "running": sorted(self._running),
            "alive": self._thread is not None and self._thread.is_alive(),
        }

    def workers(self) -> list[RegisteredWorker]:
        """This server's supervisor, the one worker of a local runner."""
        hostname, _, pid = self.name.rpartition(":")
        state = "busy" if self._running else "idle"
        return [RegisteredWorker(name=self.name, hostname=hostname, pid=int(pid), state=state)]

    # -- the supervisor loop ------------------------------------------------------------

    def _loop(self) -> None:
        pause = TICK_SECONDS
        while not self._stopping.is_set():
            try:
                self._tick()
                pause = TICK_SECONDS
            except UnavailableError as error:
                pause = min(pause * 2, LONGEST_PAUSE)
                log.warning("runner: %s; trying again in %.0f s", error.message, pause)
            except Exception:
                log.exception("runner tick failed; trying again")
            self._wake.wait(pause)
            self._wake.clear()

    def _tick(self) -> None:
        self._reap()
        self._enforce()
        now = time.monotonic()
        if now - self._last_renewal > self.lease_seconds / 3:
            self.store.renew_leases([r.claim for r in self._running.values()], self.lease_seconds)
            self._last_renewal = now
        if now - self._last_recovery > self.lease_seconds:
            self._recover(startup=False)
            self._last_recovery = now
        self._launch()
        for running in self._running.values():
            self._supervision.watch(running)
        if self.reaper is not None:
            self.reaper.tick()

    def _launch(self) -> None:
        free = self.slots - len(self._running)
        if free <= 0 or self._stopping.is_set():
            return
        for claim in self.store.claim_next(self.name, self.lease_seconds, free):
            self._running[claim.job_id] = self._supervision.start(claim)

    def _reap(self) -> None:
        for job_id, running in list(self._running.items()):
            if self._supervision.reap(running) is not None:
                del self._running[job_id]
                self._wake.set()

    def _enforce(self) -> None:
        """Kill children whose job was cancelled, deleted or taken away, or ran too long."""
        if not self._running:
            return
        owned = self.store.still_owned([r.claim for r in self._running.values()])
        for job_id, running in list(self._running.items()):
            if job_id not in owned:
                log.info(
                    "job %s is no longer running here; killing pid %s", job_id, running.process.pid
                )
                self._supervision.end(running)
                del self._running[job_id]
                self._wake.set()
            else:
                self._supervision.stop_if_over_time(running)

    def _recover(self, *, startup: bool) -> None:
        """Re-queue jobs whose runner is gone: at once for a dead local pid, else by lease."""
        host = socket.gethostname()
        stale = self.store.expired_claims()
        if startup:
            stale += [
                (claim, worker)
                for claim, worker in self.store.running_claims()
                if _is_dead_local_runner(worker, host)
            ]
        seen: set[int] = set()
        for claim, worker in stale:
            if claim.job_id in self._running or claim.job_id in seen:
                continue
            seen.add(claim.job_id)
            cause = f"its runner {worker or 'unknown'} stopped"
            log.warning(
                "job %s: %s -> %s", claim.job_id, cause, self.store.retry_or_fail(claim, cause)
            )
        self.store.screens.settle()


def _is_dead_local_runner(worker: str | None, host: str) -> bool:
    """Whether ``worker`` ("host:supervisor_pid:child_pid") names a process here that is gone."""
    if not worker:
        return True
    parts = worker.split(":")
    if parts[0] != host or len(parts) < 2 or not parts[1].isdigit():
        return False
    supervisor_pid = int(parts[1])
    if supervisor_pid == os.getpid():
        return True
    try:
        os.kill(supervisor_pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
