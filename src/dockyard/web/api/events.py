"""Live updates over Server-Sent Events, read from the job database (the only source of truth).

The stream polls the store on the server side and sends each job whose ``updated_at`` moved.
It re-reads a short window behind its cursor, because a writer's clock and commit order can
differ by a little; what it already sent is remembered, so nothing is sent twice and nothing
is missed. A reconnecting browser sends ``Last-Event-ID`` and resumes from there, so a stream
may end: each does after ``DOCKYARD_EVENTS_MAX_SECONDS``, and no client holds one forever. A
cursor is parsed before the stream opens, so a bad one is a 422. FastAPI's own SSE support
frames the events and sends a keep-alive comment while the stream is idle. While the database
does not answer the stream stays open and reads again every :data:`OUTAGE_POLL_SECONDS`, so
followers resume by themselves once it is back.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import WithJsonSchema
from starlette.concurrency import run_in_threadpool

from dockyard.errors import InputError, UnavailableError
from dockyard.jobs.accounts import Viewer
from dockyard.jobs.models import utcnow
from dockyard.jobs.store import Store
from dockyard.metrics import SSE_CONNECTIONS
from dockyard.web.deps import CurrentUser, SettingsDep, StoreDep
from dockyard.web.schemas import JobSummary, error_responses
from dockyard.web.types import Id

router = APIRouter(prefix="/api", tags=["live"], responses=error_responses(404, 422))

POLL_SECONDS = 0.5
OUTAGE_POLL_SECONDS = 2.0
RETRY_MS = 2000
"""How long a browser waits before it reconnects a broken stream."""
CLOCK_SKEW = timedelta(seconds=2)
CHANGES_PER_READ = 200
"""How many changes ``Store.changed_since`` returns at most."""


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


async def job_events(
    request: Request,
    store: Store,
    since: datetime,
    job_id: int | None,
    viewer: Viewer,
    max_seconds: float,
) -> AsyncIterator[ServerSentEvent]:
    """``job`` events from ``since`` on, each job's change once (only ``viewer``'s jobs), for
    ``max_seconds``.

    The first read reaches :data:`CLOCK_SKEW` behind ``since`` too: a change stamped just
    before a reconnecting browser's ``Last-Event-ID`` may have been committed after it was
    sent, so it is sent again rather than lost (pages apply a job's state idempotently).
    """
    sent: dict[int, datetime] = {}
    cursor = since
    deadline = time.monotonic() + max_seconds
    yield ServerSentEvent(retry=RETRY_MS)
    while time.monotonic() < deadline and not await request.is_disconnected():
        try:
            changed = await run_in_threadpool(
                store.changed_since, cursor - CLOCK_SKEW, job_id, viewer
            )
            fresh = [job for job in changed if sent.get(job.id) != job.updated_at]
            if not fresh and len(changed) >= CHANGES_PER_READ:
                # A window full of changes already sent: read on from the cursor instead.
                changed = await run_in_threadpool(store.changed_since, cursor, job_id, viewer)
                fresh = [job for job in changed if sent.get(job.id) != job.updated_at]
        except UnavailableError:
            await asyncio.sleep(OUTAGE_POLL_SECONDS)
            continue
        for job in fresh:
            sent[job.id] = job.updated_at
            cursor = max(cursor, job.updated_at)
            data = JobSummary.from_job(job).model_dump_json()
            yield ServerSentEvent(raw_data=data, event="job", id=cursor.isoformat())
        horizon = cursor - CLOCK_SKEW
        sent = {key: stamp for key, stamp in sent.items() if stamp >= horizon}
        await asyncio.sleep(POLL_SECONDS)


@router.get("/events", response_class=EventSourceResponse)
async def events(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    viewer: CurrentUser,
    start: Annotated[datetime, Depends(stream_start)],
    job_id: Id | None = None,
) -> AsyncIterator[ServerSentEvent]:
    """A stream of ``job`` events (the job summary as JSON) as jobs change.

    It ends after ``DOCKYARD_EVENTS_MAX_SECONDS``; a browser's EventSource reconnects by itself
    with ``Last-Event-ID`` and misses nothing.
    """
    SSE_CONNECTIONS.inc()
    try:
        async for event in job_events(
            request, store, start, job_id, viewer, settings.events_max_seconds
        ):
            yield event
    finally:
        SSE_CONNECTIONS.dec()
