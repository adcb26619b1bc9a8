"""The chemistry pool: what a request asks of RDKit, Meeko, PDBFixer, OpenMM, the pocket finder
or ProLIF runs here, in worker processes, never in the web process.

One pathological molecule must not freeze the server: RDKit's CoordGen holds the GIL for tens
of seconds on a large ring, and a preparation can grow without bound. So each task runs in one
of a few preloaded worker processes (started from the fork server, at a higher nice value so
the web process is favoured), talked to over one pipe each. A watchdog thread in the parent
SIGKILLs a worker whose task runs past its kind's wall-clock limit or whose resident memory
(``VmRSS``) passes the limit, and starts a replacement; the request gets a
:class:`~dockyard.errors.TooComplexError` (422). At most ``queue`` requests wait for a free
worker; one more is refused at once with a :class:`~dockyard.errors.BusyError` (503, with
``Retry-After``), because every waiting request holds one of the server's threads.

Tasks are plain top-level functions of the layer they belong to (``jobs.submit.build_dock_job``,
``chem.depict.depict`` …) and must return plain data, so the web process unpickles the answer
without loading the science stack. Dockyard's errors cross intact (field and code); any other
exception in a task becomes a :class:`~dockyard.errors.DockingError` and its traceback is logged.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import math
import os
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Any, TypeVar

from dockyard.config import Settings
from dockyard.errors import BusyError, DockingError, DockyardError, TooComplexError
from dockyard.processes import report_fields_to
from dockyard.runners.supervise import SCIENCE_PRELOAD, JobProcess, science_context

log = logging.getLogger(__name__)

T = TypeVar("T")

TICK_SECONDS = 0.1
"""How often the watchdog looks at the workers' clocks and memory."""
NICE = 10
"""Added to a worker's nice value: the web process answers first when the cores are busy."""
RECYCLE_FRACTION = 0.75
"""A worker that ends a task above this share of the memory limit is replaced, so that what
it kept (caches, fragmentation) does not count against the next task."""
START_SECONDS = 120.0
"""How long a new worker may take to import the science stack before it is replaced."""
RESTART_PAUSE_SECONDS = 5.0
"""The pause before starting a worker again after one failed to start."""

STARTING, IDLE, BUSY = "starting", "idle", "busy"
WORKING_ON = "working on"
"""The message a worker sends, before its reply, to say which input its task works on."""


@dataclass(frozen=True)
class Kind:
    """A kind of task and its wall-clock limit, with how to say that an input was too much."""

    name: str
    seconds: float
    subject: str
    """What was too complex, e.g. "This molecule"."""
    verb: str
    """What could not be done in time, e.g. "draw"."""
    field: str | None
    setting: str
    """The setting that holds the limit, named in the error so an admin knows what to raise."""

    def too_long(self, field: str | None = None) -> TooComplexError:
        """Over its time; ``field`` is the input the task said it was working on, if it did."""
        return TooComplexError(
            f"{self._subject(field)} is too complex to {self.verb} in {self.seconds:g} s "
            f"(the server's limit, {self.setting}).",
            field=field or self.field,
        )

    def too_big(self, memory_mb: float, field: str | None = None) -> TooComplexError:
        return TooComplexError(
            f"{self._subject(field)} is too complex to {self.verb} within {memory_mb:g} MB of "
            "memory (the server's limit, DOCKYARD_CHEM_MEMORY_MB).",
            field=field or self.field,
        )

    def _subject(self, field: str | None) -> str:
        return SUBJECTS.get(field, self.subject) if field else self.subject


SUBJECTS = {
    "receptor": "This receptor",
    "ligand": "This ligand",
    "smiles": "This molecule",
    "reference_ligand": "This reference ligand",
}
"""How an error names the input a task said it was working on (``processes.working_on``)."""


DEPICTION, PREPARATION, INTERACTIONS = "depiction", "preparation", "interactions"


def kinds_from(settings: Settings) -> dict[str, Kind]:
    """The kinds of task requests ask for, with their limits from the settings."""
    return {
        DEPICTION: Kind(
            DEPICTION,
            settings.chem_depict_seconds,
            "This molecule",
            "draw",
            "smiles",
            "DOCKYARD_CHEM_DEPICT_SECONDS",
        ),
        PREPARATION: Kind(
            PREPARATION,
            settings.chem_prepare_seconds,
            "This receptor or ligand",
            "prepare",
            "receptor",
            "DOCKYARD_CHEM_PREPARE_SECONDS",
        ),
        INTERACTIONS: Kind(
            INTERACTIONS,
            settings.chem_interactions_seconds,
            "This job's set of poses",
            "analyse for interactions",
            "job_id",
            "DOCKYARD_CHEM_INTERACTIONS_SECONDS",
        ),
    }


def resident_mb(pid: int) -> float:
    """A process's resident memory (``VmRSS``) in MB; 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, number: int, context: ForkServerContext):
        parent_end, child_end = context.Pipe()
        self.process = JobProcess(
            _serve, (child_end,), name=f"dockyard-chemistry-{number}", context=context
        )
        self.pid = self.process.start()
        child_end.close()  # the child's death is then an end of file here
        self.conn: Connection = parent_end
        self.state = STARTING
        self.born = time.monotonic()
        self.deadline = math.inf
        self.killed_for: str | None = None
        """Why the watchdog killed it: "time" or "memory"."""
        self.working_on: str | None = None
        """The input its task said it was working on last (a request's field)."""

    def kill(self, reason: str) -> None:
        """SIGKILL its process group; the thread waiting on its answer sees the pipe close."""
        self.killed_for = reason
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)

    def close(self) -> None:
        self.process.close()
        self.conn.close()


class ChemistryPool:
    """A few worker processes that run chemistry for requests, with time and memory limits."""

    def __init__(
        self,
        *,
        workers: int,
        queue: int,
        memory_mb: float,
        kinds: Mapping[str, Kind],
        context: ForkServerContext | None = None,
    ):
        self.size = workers
        self.queue_size = queue
        self.memory_mb = memory_mb
        self.kinds = dict(kinds)
        self._context = context or science_context()
        self._workers: list[_Worker] = []
        self._waiting: deque[object] = deque()
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0
        self._next_start = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ChemistryPool:
        return cls(
            workers=settings.chem_workers,
            queue=settings.chem_queue,
            memory_mb=settings.chem_memory_mb,
            kinds=kinds_from(settings),
        )

    def start(self) -> None:
        """Start the watchdog, which starts the workers (the first waits for the fork server
        to import the science stack; requests meanwhile wait in the queue)."""
        self._thread = threading.Thread(target=self._watch, name="dockyard-chemistry", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Kill every worker; a request still waiting on one gets an error."""
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._changed:
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.kill("stop")
        for worker in workers:
            if worker.state != BUSY:  # a busy one is closed by the thread waiting on it
                worker.close()

    def describe(self) -> dict[str, object]:
        with self._changed:
            states = [worker.state for worker in self._workers]
            waiting = len(self._waiting)
        return {
            "workers": self.size,
            "busy": states.count(BUSY),
            "idle": states.count(IDLE),
            "starting": states.count(STARTING),
            "waiting": waiting,
            "queue": self.queue_size,
        }

    def run(self, kind: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``function(*args, **kwargs)`` in a worker, within the limits of ``kind``.

        Raises what the function raised (a Dockyard error, intact), TooComplexError when it
        ran over its time or memory, BusyError when the queue is full or no worker came free
        within the kind's limit, and DockingError when the worker failed otherwise.
        """
        limits = self.kinds[kind]
        worker = self._take(limits)
        reply = None
        try:
            reply = self._call(worker, function, args, kwargs)
        finally:
            self._give_back(worker, dead=reply is None)
        if reply is None:
            if worker.killed_for == "time":
                raise limits.too_long(worker.working_on)
            if worker.killed_for == "memory":
                raise limits.too_big(self.memory_mb, worker.working_on)
            status = worker.process.poll()
            cause = f"signal {signal.Signals(-status).name}" if status and status < 0 else status
            raise DockingError(
                f"The process that was to {limits.verb} this input died ({cause}).",
                code="chemistry_crashed",
            )
        outcome, value = reply
        if outcome == "ok":
            return value
        if outcome == "error":
            raise value
        log.error("%s task %s failed in pid %s:\n%s", kind, function, worker.pid, value[1])
        raise DockingError(
            f"Could not {limits.verb} this input: {value[0]}", code="chemistry_failed"
        )

    # -- the parent's side of a task ----------------------------------------------------

    def _take(self, limits: Kind) -> _Worker:
        """An idle worker, first come first served; BusyError when too many already wait."""
        ticket = object()
        give_up = time.monotonic() + limits.seconds
        with self._changed:
            worker = None if self._waiting else self._idle()
            if worker is None:
                if len(self._waiting) >= self.queue_size:
                    raise self._busy()
                self._waiting.append(ticket)
                try:
                    while not self._stopping.is_set():
                        if self._waiting[0] is ticket and (worker := self._idle()):
                            break
                        remaining = give_up - time.monotonic()
                        if remaining <= 0:
                            break
                        self._changed.wait(remaining)
                finally:
                    self._waiting.remove(ticket)
                    self._changed.notify_all()
                if worker is None:
                    raise self._busy()
            worker.state = BUSY
            worker.killed_for = None
            worker.working_on = None
            worker.deadline = time.monotonic() + limits.seconds
            return worker

    def _idle(self) -> _Worker | None:
        return next((worker for worker in self._workers if worker.state == IDLE), None)

    def _busy(self) -> BusyError:
        """Retry once the first running task must have ended: a worker is free by then."""
        now = time.monotonic()
        ends = [w.deadline - now for w in self._workers if w.state == BUSY] or [1.0]
        retry_after = max(1, math.ceil(min(ends)))
        return BusyError(
            f"The server is busy with other chemistry requests; try again in {retry_after} s.",
            retry_after=retry_after,
        )

    def _call(
        self,
        worker: _Worker,
        function: Callable[..., object],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> tuple[str, Any] | None:
        """The worker's reply, or None when it died (killed by the watchdog, or crashed)."""
        try:
            worker.conn.send((function, args, kwargs))
            while True:
                while not worker.conn.poll(1.0):
                    if worker.process.poll() is not None:
                        return None
                message = worker.conn.recv()
                if message[0] != WORKING_ON:
                    return message
                worker.working_on = message[1]
        except (EOFError, OSError):
            return None

    def _give_back(self, worker: _Worker, *, dead: bool) -> None:
        retire = dead or resident_mb(worker.pid) > RECYCLE_FRACTION * self.memory_mb
        with self._changed:
            if retire:
                with contextlib.suppress(ValueError):
                    self._workers.remove(worker)
            else:
                worker.state = IDLE
                worker.deadline = math.inf
            self._changed.notify_all()
        if retire:
            if not dead:
                log.info("chemistry worker %s holds too much memory; replacing it", worker.pid)
            worker.close()

    # -- the watchdog -------------------------------------------------------------------

    def _watch(self) -> None:
        while not self._stopping.is_set():
            try:
                self._tick()
            except Exception:
                log.exception("chemistry watchdog tick failed; trying again")
            self._stopping.wait(TICK_SECONDS)

    def _tick(self) -> None:
        with self._changed:
            workers = list(self._workers)
        now = time.monotonic()
        for worker in workers:
            if worker.state == BUSY:
                if now > worker.deadline:
                    log.warning("chemistry worker %s ran out of time; killing it", worker.pid)
                    worker.kill("time")
                elif resident_mb(worker.pid) > self.memory_mb:
                    log.warning("chemistry worker %s ran out of memory; killing it", worker.pid)
                    worker.kill("memory")
            elif worker.state == STARTING:
                self._check_start(worker, now)
            elif worker.process.poll() is not None:
                log.warning("idle chemistry worker %s died; replacing it", worker.pid)
                self._retire(worker)
        self._top_up(now)

    def _top_up(self, now: float) -> None:
        """Start workers in place of those that are gone (after a pause when starting failed)."""
        with self._changed:
            missing = self.size - len(self._workers)
        for _ in range(missing):
            if self._stopping.is_set() or now < self._next_start:
                return
            self._started += 1
            try:
                worker = _Worker(self._started, self._context)
            except Exception:
                self._next_start = now + RESTART_PAUSE_SECONDS
                raise
            with self._changed:
                self._workers.append(worker)

    def _check_start(self, worker: _Worker, now: float) -> None:
        try:
            ready = worker.conn.poll(0) and worker.conn.recv() == "ready"
        except (EOFError, OSError):
            ready = False
            worker.born = -math.inf
        if ready:
            with self._changed:
                worker.state = IDLE
                self._changed.notify_all()
        elif now - worker.born > START_SECONDS:
            log.warning("chemistry worker %s did not start; replacing it", worker.pid)
            self._next_start = now + RESTART_PAUSE_SECONDS
            self._retire(worker)

    def _retire(self, worker: _Worker) -> None:
        with self._changed, contextlib.suppress(ValueError):
            self._workers.remove(worker)
        worker.close()


# -- the worker process -----------------------------------------------------------------


def _serve(conn: Connection) -> None:
    """In the worker: load the science stack, then run tasks one at a time until the pipe
    closes. Replies are ``("ok", value)``, ``("error", DockyardError)`` or
    ``("crash", (summary, traceback))``, after any number of ``("working on", field)``."""
    os.nice(NICE)
    report_fields_to(lambda field: conn.send((WORKING_ON, field)))
    for name in SCIENCE_PRELOAD:  # already loaded when the fork server preloaded them
        importlib.import_module(name)
    conn.send("ready")
    while True:
        try:
            function, args, kwargs = conn.recv()
        except EOFError:
            return
        try:
            reply: tuple[str, Any] = ("ok", function(*args, **kwargs))
        except DockyardError as error:
            reply = ("error", error)
        except Exception as error:
            reply = ("crash", (f"{type(error).__name__}: {error}", traceback.format_exc()))
        try:
            conn.send(reply)
        except Exception as error:  # an answer that cannot be pickled
            conn.send(("crash", (f"{type(error).__name__}: {error}", traceback.format_exc())))
