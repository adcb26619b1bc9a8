"""Live updates over Server-Sent Events, read from the job database (the only source of truth).

A stream sends each job whose ``updated_at`` moved. It reads its backlog (from ``since`` or
``Last-Event-ID``) from the store itself, then takes the changes the server's one
:class:`~dockyard.web.feed.ChangeFeed` reads for every stream, keeping those of the job it
follows that its viewer may see; a stream that fell behind the feed reads from the store
again, from its own cursor. It re-reads a short window behind its cursor, because a writer's
clock and commit order can differ by a little; what it already sent is remembered, so
nothing is sent twice and nothing is missed. A reconnecting browser sends ``Last-Event-ID``
and resumes from there, so a stream may end: each does after ``DOCKYARD_EVENTS_MAX_SECONDS``,
and no client holds one forever. A cursor is parsed before the stream opens, so a bad one is
a 422. The events are framed once each, by FastAPI's SSE framing, and written straight to the
response (no task or queue per event between the stream and the socket: with hundreds of
pages open, that is most of a change's cost); an idle stream sends a keep-alive comment
every :data:`WAKE_SECONDS`. While the database does not answer the stream stays open and reads again
every :data:`~dockyard.web.feed.OUTAGE_POLL_SECONDS`, so followers resume by themselves once
it is back.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.sse import KEEPALIVE_COMMENT, EventSourceResponse, format_sse_event
from pydantic import WithJsonSchema
from starlette.concurrency import run_in_threadpool

from dockyard.errors import InputError, UnavailableError
from dockyard.jobs.accounts import Viewer, can_see
from dockyard.jobs.changes import JobChange
from dockyard.jobs.models import Job, utcnow
from dockyard.jobs.store import Store
from dockyard.metrics import SSE_CONNECTIONS
from dockyard.web.deps import CurrentUser, FeedDep, SettingsDep, StoreDep
from dockyard.web.feed import (
    CHANGES_PER_READ,
    CLOCK_SKEW,
    OUTAGE_POLL_SECONDS,
    RESYNC,
    ChangeFeed,
    summary,
)
from dockyard.web.schemas import error_responses
from dockyard.web.types import Id

router = APIRouter(prefix="/api", tags=["live"], responses=error_responses(404, 422))

WAKE_SECONDS = 5.0
"""How long a stream waits on the feed before it sends a keep-alive and looks whether its
client is still there."""
RETRY_MS = 2000
"""How long a browser waits before it reconnects a broken stream."""
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
"""Nothing between the server and the browser may keep or buffer a stream."""


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)
"""The cursors a stream accepts: a window read :data:`CLOCK_SKEW` behind one stays a date."""


CURSOR_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?$"
)
"""A cursor: an ISO 8601 date and time, seconds and zone optional (no zone means UTC)."""
DATE_TIME = WithJsonSchema({"type": "string", "pattern": CURSOR_PATTERN})


def parse_cursor(value: str, field: str) -> datetime:
    """An ISO 8601 time as a UTC cursor; one without a zone is UTC, as the stream's own ids are.

    Checked before the stream opens, so a bad value is a 422 naming ``field``, not a broken
    stream.
    """
    try:
        if not re.fullmatch(CURSOR_PATTERN, value):
            raise ValueError(value)
        stamp = datetime.fromisoformat(value)
        stamp = (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise InputError(
            f"{field} must be an ISO 8601 date and time such as 2026-01-01T00:00:00Z, "
            f"got {value[:100]!r}.",
            field=field,
        ) from None
    if not EARLIEST <= stamp <= LATEST:
        raise InputError(
            f"{field} must lie between {EARLIEST.date()} and {LATEST.date()}, got {value[:100]!r}.",
            field=field,
        )
    return stamp


def stream_start(
    since: Annotated[
        str | None,
        Query(description="ISO 8601 time to start from (no zone: UTC); default: now"),
        DATE_TIME,
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(description="sent by a reconnecting browser: resume after it"),
        DATE_TIME,
    ] = None,
) -> datetime:
    """Where a stream starts: after the last event a browser saw, else ``since``, else now."""
    if last_event_id is not None:
        return parse_cursor(last_event_id, "Last-Event-ID")
    if since is not None:
        return parse_cursor(since, "since")
    return utcnow()


class Follower:
    """What one stream has sent: its cursor, and each job's last change sent within
    :data:`CLOCK_SKEW` of it, so nothing is sent twice or older than what was sent."""

    def __init__(self, since: datetime, job_id: int | None, viewer: Viewer):
        self.since = since
        self.cursor = since
        self.job_id = job_id
        self.viewer = viewer
        self._sent: dict[int, datetime] = {}

    def wants(self, change: JobChange) -> bool:
        """A change the feed read for everyone that is this stream's: on its job (else a
        top-level one), one its viewer may see, not before where it started."""
        job = change.job
        followed = job.id == self.job_id if self.job_id is not None else job.parent_id is None
        return (
            followed
            and job.updated_at > self.since - CLOCK_SKEW
            and can_see(self.viewer, job, change.shared_with)
        )

    def events(self, jobs: list[tuple[Job, str | None]]) -> Iterator[bytes]:
        """A ``job`` event for each job changed since it was last sent, its id the cursor
        (the event's data given, or made here)."""
        for job, data in jobs:
            last = self._sent.get(job.id)
            if last is not None and job.updated_at <= last:
                continue
            self._sent[job.id] = job.updated_at
            self.cursor = max(self.cursor, job.updated_at)
            data = data or summary(job)
            yield format_sse_event(data_str=data, event="job", id=self.cursor.isoformat())
        horizon = self.cursor - CLOCK_SKEW
        self._sent = {key: stamp for key, stamp in self._sent.items() if stamp >= horizon}

    def is_sent(self, job: Job) -> bool:
        return self._sent.get(job.id) == job.updated_at


async def backlog(store: Store, follower: Follower) -> list[Job]:
    """What changed from :data:`CLOCK_SKEW` behind the follower's cursor on, read from the
    store for this stream alone: where it starts, and after it fell behind the feed."""
    changed = await run_in_threadpool(
        store.changed_since, follower.cursor - CLOCK_SKEW, follower.job_id, follower.viewer
    )
    if len(changed) >= CHANGES_PER_READ and all(follower.is_sent(job) for job in changed):
        # A window full of changes already sent: read on from the cursor instead.
        changed = await run_in_threadpool(
            store.changed_since, follower.cursor, follower.job_id, follower.viewer
        )
    return changed


async def job_events(
    request: Request,
    store: Store,
    feed: ChangeFeed,
    since: datetime,
    job_id: int | None,
    viewer: Viewer,
    max_seconds: float,
) -> AsyncIterator[bytes]:
    """``job`` events from ``since`` on, each job's change once (only ``viewer``'s jobs), for
    ``max_seconds``.

    The stream subscribes to the server's feed first, then reads its backlog from the store,
    so no change falls between the two. It looks whether its client is still there only
    while idle (a hang-up while it sends ends it anyway), not once per event. The first read
    reaches :data:`CLOCK_SKEW` behind ``since`` too: a change stamped just before a
    reconnecting browser's ``Last-Event-ID`` may have been committed after it was sent, so it
    is sent again rather than lost (pages apply a job's state idempotently).
    """
    follower = Follower(since, job_id, viewer)
    deadline = time.monotonic() + max_seconds
    yield format_sse_event(retry=RETRY_MS)
    SSE_CONNECTIONS.inc()
    try:
        with feed.subscribe(job_id) as subscription:
            behind = True
            while time.monotonic() < deadline:
                if behind:
                    start = follower.cursor
                    try:
                        jobs = await backlog(store, follower)
                    except UnavailableError:
                        if await request.is_disconnected():
                            break
                        yield KEEPALIVE_COMMENT
                        await asyncio.sleep(OUTAGE_POLL_SECONDS)
                        continue
                    for event in follower.events([(job, None) for job in jobs]):
                        yield event
                    behind = len(jobs) >= CHANGES_PER_READ and follower.cursor > start
                else:
                    wait = min(WAKE_SECONDS, deadline - time.monotonic())
                    arrived = await subscription.next(wait)
                    if not arrived:
                        if await request.is_disconnected():
                            break
                        yield KEEPALIVE_COMMENT
                    behind = RESYNC in arrived
                    mine = [(c.job, data) for c, data in filter(None, arrived) if follower.wants(c)]
                    for event in follower.events(mine):
                        yield event
    finally:
        SSE_CONNECTIONS.dec()


class EventStreamType(Response):
    """The stream's media type in the API's schema. The route returns its own response (an
    :class:`EventSourceResponse` of bytes framed here): declaring that class instead would
    make FastAPI run the route as a generator of events, with a task and two queues per
    event."""

    media_type = "text/event-stream"


@router.get("/events", response_class=EventStreamType)
async def events(
    request: Request,
    store: StoreDep,
    feed: FeedDep,
    settings: SettingsDep,
    viewer: CurrentUser,
    start: Annotated[datetime, Depends(stream_start)],
    job_id: Id | None = None,
) -> EventSourceResponse:
    """A stream of ``job`` events (the job summary as JSON) as jobs change.

    It ends after ``DOCKYARD_EVENTS_MAX_SECONDS``; a browser's EventSource reconnects by itself
    with ``Last-Event-ID`` and misses nothing.
    """
    stream = job_events(request, store, feed, start, job_id, viewer, settings.events_max_seconds)
    return EventSourceResponse(stream, headers=STREAM_HEADERS)
