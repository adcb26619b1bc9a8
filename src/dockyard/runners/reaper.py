"""The reaper: one retention pass per ``DOCKYARD_REAPER_INTERVAL`` across a whole fleet.

The server's own loop calls :meth:`Reaper.tick` — the local runner's supervisor on every
tick, the RQ reconciler on every pass — and the tick asks the database for the interval's turn
(:meth:`~dockyard.jobs.retention.RetentionStore.take_turn`), so however many servers and
workers share a database, one of them runs each pass. The pass runs in a thread of its own:
a long purge never delays lease renewals or reconciliation. It rests between its transactions
(:data:`REST_RATIO`) so the requests keep their share. A pass purges the expired jobs
(:mod:`dockyard.jobs.retention`), then compacts old screens, and counts into
:data:`dockyard.metrics.REAPER_RUNS` and :data:`~dockyard.metrics.REAPER_BYTES_FREED`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime

from dockyard import metrics
from dockyard.config import Settings
from dockyard.errors import UnavailableError
from dockyard.jobs.models import utcnow
from dockyard.jobs.retention import Freed
from dockyard.jobs.store import Store

log = logging.getLogger(__name__)

TURN = "reaper"
"""The name of the reaper's turn in the ``leases`` table."""
REST_RATIO = 2.0
"""After each of its transactions a pass rests twice as long as that transaction took: it
takes at most a third of the database's (and its process's) time from the requests."""
LOWER_PRIORITY = 10
"""Steps of niceness the background pass's thread takes on over its process's: the threads
that answer requests get the CPU first."""


class _Stopping(Exception):
    """The server is stopping: the pass ends between two batches (each one is complete)."""


class Reaper:
    """Purges expired jobs and compacts old screens, when it is this process's turn."""

    def __init__(
        self,
        store: Store,
        *,
        owner: str,
        retention_days: int = 0,
        compact_days: int = 0,
        compact_keep: int = 100,
        interval: float = 3600.0,
        batch: int = 200,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.store = store
        self.owner = owner
        self.retention_days = retention_days
        self.compact_days = compact_days
        self.compact_keep = compact_keep
        self.interval = interval
        self.batch = batch
        self.clock = clock
        self.last_pass: dict[str, object] | None = None
        self._next_try: datetime | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._worked_since = 0.0

    @classmethod
    def from_settings(cls, store: Store, settings: Settings, owner: str) -> Reaper:
        return cls(
            store,
            owner=owner,
            retention_days=settings.retention_days,
            compact_days=settings.compact_days,
            compact_keep=settings.compact_keep,
            interval=settings.reaper_interval,
            batch=settings.reaper_batch,
        )

    def tick(self) -> bool:
        """Start a pass in the background if this interval's turn is ours; whether it did."""
        if self._thread is not None and self._thread.is_alive():
            return False
        now = self.clock()
        if self._next_try is not None and now < self._next_try:
            return False
        taken, self._next_try = self.store.retention.take_turn(TURN, self.owner, self.interval, now)
        if taken:
            self._thread = threading.Thread(
                target=self._pass_quietly, args=(now,), name="dockyard-reaper", daemon=True
            )
            self._thread.start()
        return taken

    def join(self, timeout: float | None = None) -> None:
        """Wait for the pass running in the background, if any."""
        if self._thread is not None:
            self._thread.join(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """End a background pass after its current batch (the server is stopping)."""
        self._stopping.set()
        self.join(timeout)

    def run_once(self, now: datetime | None = None) -> Freed | None:
        """One pass now, in this thread, if this interval's turn is free; None if not."""
        now = now or self.clock()
        taken, self._next_try = self.store.retention.take_turn(TURN, self.owner, self.interval, now)
        return self.run_pass(now) if taken else None

    def run_pass(self, now: datetime | None = None) -> Freed:
        """Purge what expired by ``now``, then compact the screens old enough; what it freed."""
        now = now or self.clock()
        retention = self.store.retention
        self._worked_since = time.monotonic()
        expired = retention.expired(now, self.retention_days)
        freed = retention.purge(expired, batch=self.batch, between=self._rest)
        freed.add(
            retention.compact(
                now, self.compact_days, self.compact_keep, batch=self.batch, between=self._rest
            )
        )
        metrics.REAPER_RUNS.inc()
        metrics.REAPER_BYTES_FREED.inc(freed.bytes)
        self.last_pass = {"at": now.isoformat(timespec="seconds"), "by": self.owner}
        self.last_pass.update(freed.to_dict())
        if freed.jobs or freed.poses:
            log.info("reaper: %s", self.last_pass)
        return freed

    def _rest(self) -> None:
        """Between two transactions: rest (:data:`REST_RATIO`), or end if the server stops."""
        worked = time.monotonic() - self._worked_since
        if self._stopping.wait(worked * REST_RATIO):
            raise _Stopping
        self._worked_since = time.monotonic()

    def _pass_quietly(self, now: datetime) -> None:
        with contextlib.suppress(OSError):  # threads are tasks of their own on Linux
            niceness = min(19, os.getpriority(os.PRIO_PROCESS, 0) + LOWER_PRIORITY)
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
        try:
            self.run_pass(now)
        except _Stopping:
            log.info("reaper: stopped between two batches; the next turn goes on")
        except UnavailableError as error:
            log.warning("reaper: %s; the next turn tries again", error.message)
        except Exception:
            log.exception("reaper pass failed; the next turn tries again")


__all__ = ["TURN", "Reaper"]
