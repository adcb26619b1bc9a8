"""Live updates over Server-Sent Events, read from the job database (the only source of truth).

The stream polls the store on the server side and sends each job whose ``updated_at`` moved.
It re-reads a short window behind its cursor, because a writer's clock and commit order can
differ by a little; what it already sent is remembered, so nothing is sent twice and nothing
is missed. A reconnecting browser sends ``Last-Event-ID`` and resumes from there. FastAPI's own
SSE support frames the events and sends a keep-alive comment while the stream is idle.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from fastapi import APIRouter, Header, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from dockyard.jobs.accounts import Viewer
from dockyard.jobs.models import utcnow
from dockyard.jobs.store import Store
from dockyard.web.deps import CurrentUser, StoreDep
from dockyard.web.schemas import JobSummary

router = APIRouter(prefix="/api", tags=["live"])

POLL_SECONDS = 0.5
RETRY_MS = 2000
"""How long a browser waits before it reconnects a broken stream."""
CLOCK_SKEW = timedelta(seconds=2)
CHANGES_PER_READ = 200
"""How many changes ``Store.changed_since`` returns at most."""


def _parse_cursor(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


async def job_events(
    request: Request, store: Store, since: datetime, job_id: int | None, viewer: Viewer
) -> AsyncIterator[ServerSentEvent]:
    """``job`` events from ``since`` on, each job's change once (only ``viewer``'s jobs).

    The first read reaches :data:`CLOCK_SKEW` behind ``since`` too: a change stamped just
    before a reconnecting browser's ``Last-Event-ID`` may have been committed after it was
    sent, so it is sent again rather than lost (pages apply a job's state idempotently).
    """
    sent: dict[int, datetime] = {}
    cursor = since
    yield ServerSentEvent(retry=RETRY_MS)
    while not await request.is_disconnected():
        changed = await run_in_threadpool(store.changed_since, cursor - CLOCK_SKEW, job_id, viewer)
        fresh = [job for job in changed if sent.get(job.id) != job.updated_at]
        if not fresh and len(changed) >= CHANGES_PER_READ:
            # A window full of changes already sent: read on from the cursor instead.
            changed = await run_in_threadpool(store.changed_since, cursor, job_id, viewer)
            fresh = [job for job in changed if sent.get(job.id) != job.updated_at]
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
    viewer: CurrentUser,
    job_id: int | None = None,
    since: str | None = Query(None, description="ISO timestamp; default: now"),
    last_event_id: str | None = Header(None),
) -> AsyncIterator[ServerSentEvent]:
    """A stream of ``job`` events (the job summary as JSON) as jobs change."""
    start = _parse_cursor(last_event_id) or _parse_cursor(since) or utcnow()
    async for event in job_events(request, store, start, job_id, viewer):
        yield event
