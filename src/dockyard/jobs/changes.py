"""What changed: the one read of all jobs' changes a server's change feed makes, and the
PostgreSQL notices that tell it when to make it.

A server process reads every job's change once (:meth:`ChangeReader.since`) and hands each
to the event streams whose viewer may see it, so its reads do not grow with its open pages.
A read returns, with each job, the groups it is shared with (its own shares and its
screen's), so a stream can apply :func:`~dockyard.jobs.accounts.can_see` without a query of
its own. On PostgreSQL a trigger (migration 0007) notifies channel :data:`CHANNEL` with the
id of each job a transaction changed; :class:`ChangeListener` hears them on a connection of
its own and wakes the feed, which then reads the state from the store: a notice says only
*which* job changed, the database stays the truth.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from dockyard.jobs.models import Job, JobShare

log = logging.getLogger(__name__)

CHANNEL = "dockyard_jobs"
"""The PostgreSQL channel the ``jobs`` trigger notifies with a changed job's id."""
RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)
"""How long the listener waits before each try to reach the database again (the last repeats)."""
LISTEN_TICK_SECONDS = 1.0
"""How often the listener looks up from its connection to see whether it is to stop."""


@dataclass(frozen=True)
class JobChange:
    """A job as it is now, with the groups that may read it through a share."""

    job: Job
    shared_with: frozenset[int]


class ChangeReader:
    """The reads of a server's change feed, reached as :attr:`Store.changes`."""

    def __init__(self, session: Callable[[], Session]):
        self._session = session

    def since(
        self,
        since: datetime,
        limit: int,
        after_id: int | None = None,
        chunks: Collection[int] = (),
    ) -> list[JobChange]:
        """Every top-level job, and the screen chunks among ``chunks``, updated after
        ``since``, oldest change first, at most ``limit``: one query, whoever the changes are
        for. ``after_id`` reads on from the job of that id changed at ``since`` itself (jobs
        cancelled together share one time)."""
        groups = (
            select(func.aggregate_strings(cast(JobShare.group_id, String), ","))
            .where(or_(JobShare.job_id == Job.id, JobShare.job_id == Job.parent_id))
            .scalar_subquery()
        )
        query = (
            select(Job, groups)
            .where(
                Job.updated_at > since
                if after_id is None
                else or_(Job.updated_at > since, and_(Job.updated_at == since, Job.id > after_id))
            )
            .where(or_(Job.parent_id.is_(None), Job.id.in_(sorted(chunks))))
            .order_by(Job.updated_at, Job.id)
            .limit(limit)
        )
        with self._session() as session:
            return [
                JobChange(job, frozenset(int(part) for part in (shared or "").split(",") if part))
                for job, shared in session.execute(query)
            ]


class ChangeListener:
    """Listens on :data:`CHANNEL` in a thread and calls ``wake`` with each changed job's id.

    After (re)connecting it calls ``wake(None)``: notices sent while it was away are lost, so
    the feed reads from its cursor once. A dropped connection (a database restart, a
    terminated backend) is reconnected, waiting :data:`RECONNECT_SECONDS` between tries.
    """

    def __init__(self, database_url: str, wake: Callable[[int | None], None]):
        self._conninfo = (
            make_url(database_url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )
        self._wake = wake
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dockyard-listen", daemon=True)
        self.connections = 0
        """How many times it has connected (and so listened afresh)."""

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=LISTEN_TICK_SECONDS * 5)

    def _run(self) -> None:
        import psycopg  # the PostgreSQL extra: only a server on PostgreSQL listens

        failures = 0
        while not self._stopping.is_set():
            try:
                self._listen()
                failures = 0
            except psycopg.Error as error:
                pause = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
                if failures == 0:
                    log.warning("change notices lost (%s); reconnecting", str(error).strip())
                failures += 1
                self._stopping.wait(pause)

    def _listen(self) -> None:
        import psycopg

        with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=10) as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            self.connections += 1
            self._wake(None)
            while not self._stopping.is_set():
                for notice in connection.notifies(timeout=LISTEN_TICK_SECONDS):
                    self._wake(int(notice.payload) if notice.payload.isdigit() else None)
                    if self._stopping.is_set():
                        return
