"""One change feed per server process, shared by all its event streams.

The feed reads the store once per round (:meth:`ChangeReader.since`: every top-level job's
change, whoever it is for, and those of the screen chunks a stream follows) and hands each
change to every open stream's :class:`Subscription`; a stream keeps the changes its viewer
may see on the job it follows. So the reads of a server
do not grow with its open pages, and neither does the work of turning a change into its
event's data (:func:`summary`, made once per change). A round starts every
``poll_seconds`` (the fallback), or as soon as something says a job changed: PostgreSQL's
notices, or on SQLite the stores' announcements on Redis when Redis is configured
(:func:`~dockyard.jobs.changes.listener_for`), heard on a connection of its own. Notices that arrive
within :data:`BATCH_SECONDS` of a round are served by the next one, so a burst of writes
costs a few reads, not one each.

Like a stream before it, the feed re-reads :data:`CLOCK_SKEW` behind its cursor (a writer's
clock and commit order can differ by a little) and remembers what it sent, so each change
is handed out once. A subscription holds at most :data:`QUEUE_SIZE` changes: one that falls
further behind (a slow client) is emptied and told to resync, and its stream reads what it
missed from the store itself, from its own cursor. While the database does not answer the
feed tries again every :data:`OUTAGE_POLL_SECONDS`; streams stay open meanwhile. A read
that fails otherwise (a bug) sends every stream to the store itself, where the error
surfaces: the stream breaks and its browser reconnects, rather than waiting on a feed that
says nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

from starlette.concurrency import run_in_threadpool

from dockyard.config import Settings
from dockyard.errors import UnavailableError
from dockyard.jobs.changes import JobChange, listener_for
from dockyard.jobs.models import Job, utcnow
from dockyard.jobs.store import Store
from dockyard.web.schemas import JobSummary

log = logging.getLogger(__name__)

CLOCK_SKEW = timedelta(seconds=2)
CHANGES_PER_READ = 200
BATCH_SECONDS = 0.1
"""The least time between two rounds: the notices of a burst of writes share one read."""
OUTAGE_POLL_SECONDS = 2.0
QUEUE_SIZE = 1000
"""Changes one subscription may hold before it is told to resync from the store instead."""

RESYNC = None
"""What a subscription yields when it fell behind: read from the store from your cursor."""

Published = tuple[JobChange, str]
"""A change as the feed hands it out: with its ``job`` event's data, made once for all."""


def summary(job: Job) -> str:
    """The data of a job's ``job`` event: its summary as JSON."""
    return JobSummary.from_job(job).model_dump_json()


class Subscription:
    """One stream's share of the feed: the changes it has not taken yet, bounded."""

    def __init__(self, job_id: int | None = None) -> None:
        self.job_id = job_id
        """The job the stream follows (None: every top-level job)."""
        self._queue: asyncio.Queue[Published | None] = asyncio.Queue(QUEUE_SIZE)

    def offer(self, changes: list[Published]) -> None:
        for change in changes:
            try:
                self._queue.put_nowait(change)
            except asyncio.QueueFull:
                self.resync()
                return

    def resync(self) -> None:
        """Drop what is queued: the stream reads what it missed from the store instead."""
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(RESYNC)

    async def next(self, timeout: float) -> list[Published | None]:
        """What arrived, waiting up to ``timeout`` seconds for anything (an empty list: none)."""
        try:
            async with asyncio.timeout(timeout):  # no task per call, as wait_for makes
                first = await self._queue.get()
        except TimeoutError:
            return []
        taken = [first]
        while not self._queue.empty():
            taken.append(self._queue.get_nowait())
        return taken


class ChangeFeed:
    """Reads the store's changes once per round and fans them out to every subscription."""

    def __init__(self, store: Store, settings: Settings):
        self.store = store
        self._listener = listener_for(
            store.engine.url, store.identity, settings.redis_url, self._notice
        )
        self.poll_seconds = (
            settings.events_pushed_poll_seconds if self._listener else settings.events_poll_seconds
        )
        self.reads = 0
        """Store reads made so far (for tests and benchmarks: they do not grow with streams)."""
        self._subscriptions: set[Subscription] = set()
        self._cursor = utcnow()
        self._sent: dict[int, datetime] = {}
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name="dockyard-change-feed")
        if self._listener is not None:
            self._listener.start()

    async def stop(self) -> None:
        if self._listener is not None:
            await run_in_threadpool(self._listener.stop)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @contextlib.contextmanager
    def subscribe(self, job_id: int | None = None) -> Iterator[Subscription]:
        """A subscription for the life of one stream, following ``job_id`` (a screen's chunk
        too) or every top-level job."""
        subscription = Subscription(job_id)
        self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)

    def wake(self) -> None:
        """Start a round now (from the event loop's thread)."""
        self._wake.set()

    def _notice(self, job_id: int | None) -> None:
        """A notice from the listener's thread: a job changed (None: maybe some did)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()
            try:
                await self._round()
            except UnavailableError:
                await asyncio.sleep(OUTAGE_POLL_SECONDS)
                continue
            except Exception:
                log.exception("the change feed could not read the store; its streams read it")
                for subscription in list(self._subscriptions):
                    subscription.resync()
                await asyncio.sleep(OUTAGE_POLL_SECONDS)
                continue
            await asyncio.sleep(BATCH_SECONDS)

    async def _round(self) -> None:
        """Read from :data:`CLOCK_SKEW` behind the cursor and hand out what was not handed
        out yet; a full read reads on after its last change."""
        since, after_id = self._cursor - CLOCK_SKEW, None
        followed = {s.job_id for s in self._subscriptions if s.job_id is not None}
        while True:
            changes = await run_in_threadpool(
                self.store.changes.since, since, CHANGES_PER_READ, after_id, followed
            )
            self.reads += 1
            fresh = [c for c in changes if self._sent.get(c.job.id) != c.job.updated_at]
            for change in fresh:
                self._sent[change.job.id] = change.job.updated_at
                self._cursor = max(self._cursor, change.job.updated_at)
            if fresh:
                published = [(change, summary(change.job)) for change in fresh]
                for subscription in list(self._subscriptions):
                    subscription.offer(published)
            if len(changes) < CHANGES_PER_READ:
                break
            since, after_id = changes[-1].job.updated_at, changes[-1].job.id
        horizon = self._cursor - CLOCK_SKEW
        self._sent = {key: stamp for key, stamp in self._sent.items() if stamp >= horizon}
