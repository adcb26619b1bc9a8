"""Supervising a job's process: the one implementation the local runner, the RQ work-horse and
``dockyard dock`` share.

Vina's ``dock()`` holds the GIL for its whole run, so a docking runs in a child and its parent
does everything else: it reads Vina's progress bar, enforces the time limit and kills the child
by process group (so nothing the child started survives it). :class:`JobProcess` is that child,
with no store attached. :class:`Supervision` and :func:`record_exit` add the store-backed part
that both runners share: a claimed job's process, its progress in the database, and what a dead
process means for the job.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import forkserver
from multiprocessing.context import ForkContext, ForkServerContext
from typing import Any

from dockyard.errors import UnavailableError
from dockyard.jobs.live_progress import ProgressWatcher
from dockyard.jobs.store import Claim, Store
from dockyard.processes import die_with_parent
from dockyard.runners import child

log = logging.getLogger(__name__)

KILL_WAIT_SECONDS = 5.0

SCIENCE_PRELOAD = (
    "dockyard.jobs.run",
    "dockyard.jobs.submit",
    "dockyard.chem.preflight_check",
    "dockyard.chem.interactions",
    "dockyard.chem.depict",
    "rdkit.Chem.Draw.rdMolDraw2D",
    "pdbfixer",
    "openmm.app",
    "propka.run",
    "fpocket_rs",
    "scipy.spatial",
    "dimorphite_dl",
    "prolif",
)
"""What the fork server imports once: everything a job or a chemistry task needs (several of
these load lazily, on first use, so they are named here)."""


def science_context() -> ForkServerContext:
    """The fork server every child that runs chemistry starts from, the science stack loaded.

    There is one fork server per process, so the local runner and the chemistry pool share it
    and its preload list.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(SCIENCE_PRELOAD))
    return context


class JobProcess:
    """A child that runs ``target(*args)`` in its own process group and dies with its parent.

    ``context`` picks how it starts: ``fork`` (the default; the parent already holds what the
    child needs) or a fork server that preloaded the science stack.
    """

    def __init__(
        self,
        target: Callable[..., object],
        args: tuple[Any, ...] = (),
        *,
        name: str,
        context: ForkContext | ForkServerContext | None = None,
        time_limit: float = math.inf,
    ):
        self.time_limit = time_limit
        context = context or multiprocessing.get_context("fork")
        self._process = context.Process(
            target=_detached, args=(target, args), name=name, daemon=False
        )
        self._started: float | None = None
        self._exit_status: int | None = None
        self._closed = False

    def start(self) -> int:
        """Start the child; its pid (which is also its process group's id)."""
        self._process.start()
        self._started = time.monotonic()
        return self._process.pid

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def poll(self) -> int | None:
        """The exit status once the child ended (negative: the signal that killed it), else None."""
        if self._exit_status is None and not self._closed:
            self._exit_status = self._process.exitcode
        return self._exit_status

    def wait(self, timeout: float) -> int | None:
        """Wait up to ``timeout`` seconds for the child to end; :meth:`poll` after."""
        if self.poll() is None and not self._closed:
            self._process.join(timeout)
        return self.poll()

    @property
    def elapsed(self) -> float:
        return 0.0 if self._started is None else time.monotonic() - self._started

    def over_time_limit(self) -> bool:
        return self.elapsed > self.time_limit

    def kill(self) -> None:
        """SIGKILL the child's whole process group, and wait for it to go."""
        pid = self._process.pid
        if pid is None or self.poll() is not None or self._closed:
            return
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            self._process.kill()
        self._process.join(timeout=KILL_WAIT_SECONDS)
        self.poll()

    def close(self) -> None:
        """Kill the child if it still runs, and free what the process object holds."""
        if self._closed:
            return
        self.kill()
        with contextlib.suppress(ValueError):  # still running after SIGKILL: leave it be
            self._process.close()
        self._closed = True


def _detached(target: Callable[..., object], args: tuple[Any, ...]) -> None:
    """In the child: own process group, SIGKILL if the parent dies, the parent's signals unset.

    Under a fork server the parent is the fork server, which exits once every holder of its
    "alive" pipe has closed it. Forked children inherit that pipe, so the child closes its
    copy: otherwise a killed ``dockyard serve`` would leave the fork server, and with it the
    docking, running. SIGINT is the supervisor's to handle (it kills the child); handlers a
    forked child inherits for SIGTERM and SIGUSR1 (an RQ work-horse's) are not the child's.
    """
    os.setpgid(0, 0)
    alive_fd = getattr(forkserver._forkserver, "_forkserver_alive_fd", None)
    if alive_fd is not None:
        with contextlib.suppress(OSError):
            os.close(alive_fd)
        forkserver._forkserver._forkserver_alive_fd = None
    die_with_parent(os.getppid())
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for signum in (signal.SIGTERM, signal.SIGUSR1):
        signal.signal(signum, signal.SIG_DFL)
    target(*args)


def record_exit(store: Store, claim: Claim, exit_status: int) -> str:
    """Write what a job's ended process means for its job; what happened, for logs.

    Every write is fenced by the claimed attempt, so a job that ``run_job`` completed or
    failed already ignores it.
    """
    if exit_status < 0:
        cause = f"the job's process was killed by {signal.Signals(-exit_status).name}"
        outcome = store.retry_or_fail(claim, cause)
        log.warning("job %s: %s -> %s", claim.job_id, cause, outcome)
        return f"{cause}; {outcome or 'no longer ours'}"
    if exit_status == child.EXIT_DATABASE_LOST:
        cause = "the job's process lost the job database"
        outcome = store.retry_or_fail(claim, cause)
        log.warning("job %s: %s -> %s", claim.job_id, cause, outcome)
        return f"{cause}; {outcome or 'no longer ours'}"
    if exit_status > 0:
        store.fail(claim, f"The job's process exited with code {exit_status}.")
        return f"exited with code {exit_status}"
    store.fail(claim, "The job's process ended without a result.")
    return "finished"


@dataclass
class Running:
    """A claimed job and the process running it."""

    claim: Claim
    process: JobProcess


class Supervision:
    """What every store-backed runner does around a claimed job's process.

    It starts :func:`dockyard.runners.child.main` under the claim, names the process on the
    job's row, turns Vina's bar into progress, stops the job at its time limit and records how
    its process ended. Leases and ownership checks stay with the runner: the local runner does
    them for all its jobs at once, a work-horse for its one job.
    """

    def __init__(
        self,
        store: Store,
        worker: str,
        *,
        database_url: str,
        cpu: int,
        context: ForkContext | ForkServerContext,
    ):
        self.store = store
        self.worker = worker
        self.database_url = database_url
        self.cpu = cpu
        self.context = context
        self._progress = ProgressWatcher(store)

    def start(self, claim: Claim) -> Running:
        process = JobProcess(
            child.main,
            (self.database_url, self.store.announce_to, claim, self.cpu),
            name=f"dockyard-job-{claim.job_id}",
            context=self.context,
            time_limit=claim.time_limit,
        )
        pid = process.start()
        try:
            self.store.set_worker(claim, f"{self.worker}:{pid}")
        except UnavailableError as error:  # the job runs all the same; only its name is missing
            log.warning("job %s: cannot name its process %s (%s)", claim.job_id, pid, error)
        log.info("job %s attempt %s started in pid %s", claim.job_id, claim.attempt, pid)
        return Running(claim, process)

    def watch(self, running: Running) -> None:
        """Progress from the bar Vina draws in the job's process."""
        self._progress.update(running.claim)

    def stop_if_over_time(self, running: Running) -> bool:
        """Kill and fail a job that ran past its time limit; whether it did."""
        if not running.process.over_time_limit():
            return False
        running.process.kill()
        self.store.fail(
            running.claim,
            f"Stopped after exceeding the time limit of {running.claim.time_limit:.0f} s.",
        )
        return True

    def reap(self, running: Running) -> str | None:
        """If the job's process ended: record what that means (:func:`record_exit`) and end it."""
        exit_status = running.process.poll()
        if exit_status is None:
            return None
        self.end(running)
        return record_exit(self.store, running.claim, exit_status)

    def end(self, running: Running) -> None:
        """Kill the job's process if it still runs and forget it (safe to call twice)."""
        running.process.close()
        self._progress.forget(running.claim)
